// `market_whyNoMatch` in words, as `stratus job why` says it (client/src/cli/job/why.rs), and a
// job's requirements in words.

import { amount } from './format.js';

const WORDS = {
  maxPrice: "ask more per unit than the job's max_price",
  notExpired: 'have expired',
  providerInGoodStanding: 'belong to providers that are leaving or whose stake no longer covers their slots',
  minStake: 'belong to providers with less stake than requirements.min_stake',
  region: 'are in regions the job does not allow (requirements.regions_allowed / regions_denied)',
  minCpuCores: 'have fewer CPU cores than requirements.min_cpu_cores',
  minMemory: 'have less memory than requirements.min_memory_mib',
  minVram: 'have less GPU memory than requirements.min_vram_mib',
  minComputeCapability: 'have GPUs below requirements.min_compute_capability',
  gpuModel: 'have GPU models not in requirements.gpu_models',
  minReputation: 'belong to providers whose reputation for this kind of job is below requirements.min_reputation',
  distinctProvider: 'belong to providers already running a replica of this job (each replica needs a different provider)',
};

/// The lines that explain a report: what waits, what is offered, what each requirement excludes,
/// and what to do.
export function whyLines(report) {
  const kind = String(report.kind).toLowerCase() === 'cuda' ? 'CUDA' : 'WASM';
  const lines = [`Job ${report.job} waits for ${report.unfilled} replica(s).`];
  if (report.offers === 0) {
    lines.push(
      `There are no open ${kind} offers with a free slot: no provider sells this kind of compute right now, or every slot is taken. The job rests until one is offered.`,
    );
  } else {
    lines.push(`Of the ${report.offers} open ${kind} offer(s) with a free slot, ${report.eligible} meet(s) every requirement.`);
    for (const [requirement, count] of report.excludedBy ?? []) {
      const key = typeof requirement === 'string' ? requirement.charAt(0).toLowerCase() + requirement.slice(1) : '';
      lines.push(`${count} offer(s) ${WORDS[key] ?? `fail the requirement ${JSON.stringify(requirement)}`}`);
    }
  }
  lines.push(
    report.timeLeft
      ? `Change what excludes them (or raise max_price) and post the job again; cancelling this one refunds its escrow.`
      : 'Too little time is left before the deadline for a newly matched replica to finish: the job will expire and its escrow be refunded.',
  );
  return lines;
}

/// A job's requirements (`market.jobs(id).requirements`, as JSON) in words, as a manifest's
/// `[requirements]` would say them; "none" when they ask for nothing.
export function requirementsText(r) {
  if (!r) return 'unknown';
  const parts = [];
  const model = (m) => (typeof m === 'string' && m.startsWith('0x') ? new TextDecoder().decode(Uint8Array.from(m.slice(2).match(/.{2}/g) ?? [], (b) => parseInt(b, 16))) : String(m));
  if (r.regionsAllowed?.length) parts.push(`regions ${r.regionsAllowed.join(', ')} only`);
  if (r.regionsDenied?.length) parts.push(`not regions ${r.regionsDenied.join(', ')}`);
  if (r.minCpuCores) parts.push(`at least ${r.minCpuCores} CPU cores`);
  if (r.minMemoryMib) parts.push(`at least ${r.minMemoryMib} MiB memory`);
  if (r.minVramMib) parts.push(`at least ${r.minVramMib} MiB GPU memory`);
  if (r.minComputeCapability) parts.push(`compute capability ${Math.floor(r.minComputeCapability / 10)}.${r.minComputeCapability % 10} or later`);
  if (r.gpuModels?.length) parts.push(`GPU ${r.gpuModels.map(model).join(' or ')}`);
  if (r.minStake && BigInt(r.minStake) > 0n) parts.push(`providers staking at least ${amount(r.minStake)}`);
  if (r.minReputation) parts.push(`reputation at least ${Number(r.minReputation) / 1e7}%`);
  return parts.length ? parts.join('; ') : 'none (any provider)';
}
