// The latency benchmark's requester (scripts/bench-latency starts the network and the workers):
// posts short WASM jobs with the stratus CLI exactly as a requester does (`stratus job submit
// --wait -o out.bin`: post, follow, download the verified output), from a few requester accounts
// at once, and records each job's timeline: the blocks and seconds at which it was included,
// matched, committed, revealed, settled, made final and downloaded. With `--report`, it reads the
// records of every mode run so far and prints the phases at p50 and p95, per mode and kind of
// job, and the ratios of the best-chain mode against the finalized-only one.
//
//   node bench-latency.mjs --mode best|finalized --jobs N --out FILE     (post and record)
//   node bench-latency.mjs --report FILE...                              (print the tables)
//
// Environment: STRATUS_WS (the RPC node), STRATUS_CLI (the CLI binary), STRATUS_KERNEL_WASM (the
// SHA-256 kernel), BENCH_DIR (a scratch folder), BENCH_LANES (requesters posting at once, 3).

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { kernelInput, send, withCustomSection } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

const POLICIES = ['replicated(2)', 'adaptive'];
const PHASES = ['included', 'matched', 'committed', 'revealed', 'settled', 'final', 'downloaded'];

function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/// The kind a job is reported under: its policy, and whether a spot-check or referees made it
/// take longer.
function kindOf(record) {
  const { policy, status } = record;
  if (status.replicas.some((r) => r.role === 'Referee')) return `${policy}, escalated`;
  if (status.spotCheck === 'Checked') return `${policy}, spot-checked`;
  return policy;
}

/// The phases of one job from the CLI's JSON: blocks after the block that included it, and
/// seconds since the command started.
function phasesOf(doc, wallSeconds) {
  const included = doc.status.submittedAt;
  const round = Math.max(...doc.status.replicas.map((r) => r.round ?? 0), 0);
  const last = (word) => {
    const seen = doc.timeline.filter((s) => s.step.includes(`: ${word}`));
    if (seen.length === 0) return undefined;
    return seen.reduce((a, b) => (b.block > a.block || (b.block === a.block && b.seconds > a.seconds) ? b : a));
  };
  const first = (prefix) => doc.timeline.find((s) => s.step.startsWith(prefix) || s.step.includes(`: ${prefix}`));
  const at = (seen) => seen && { blocks: seen.block - included, seconds: seen.seconds };
  return {
    round,
    included: { blocks: 0, seconds: doc.postedSeconds },
    matched: at(first('matched')),
    committed: at(last('committed')),
    revealed: at(last('revealed')),
    settled: at(first('settled:')),
    final: at(first('final:')),
    downloaded: doc.downloaded && { blocks: doc.finalBlock - included, seconds: wallSeconds },
  };
}

/// Runs the CLI with `argv` (and `input` on its standard input); resolves with its exit status,
/// output and wall-clock seconds.
function cli(argv, env, input = '') {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(process.env.STRATUS_CLI, argv, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ status, stdout, stderr, seconds });
    });
    child.stdin.end(input);
  });
}

async function post() {
  const mode = option('--mode');
  const jobs = Number(option('--jobs', '20'));
  const out = option('--out');
  const lanes = Number(process.env.BENCH_LANES ?? 3);
  const dir = process.env.BENCH_DIR;
  const ws = process.env.STRATUS_WS;
  if (!['best', 'finalized'].includes(mode) || !(jobs > 0) || !out || !dir || !ws) {
    throw new Error('usage: bench-latency.mjs --mode best|finalized --jobs N --out FILE (with STRATUS_WS, STRATUS_CLI, STRATUS_KERNEL_WASM and BENCH_DIR set)');
  }
  const api = await ApiPromise.create({ provider: new WsProvider(ws), noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  const alice = keyring.addFromUri('//Alice');
  const keystore = path.join(dir, `keystore-${mode}`);
  fs.mkdirSync(keystore, { recursive: true });
  const env = { STRATUS_PASSPHRASE: 'bench-latency' };
  const base = ['--endpoint', ws, '--keystore', keystore];
  // One requester account per lane (their nonces never race), funded by Alice.
  const unit = 10n ** 12n;
  const requesters = [];
  for (let lane = 0; lane < lanes; lane++) {
    const suri = `//BenchLatency/${mode}/${lane}`;
    const account = keyring.addFromUri(suri);
    await send(api, api.tx.balances.transferKeepAlive(account.address, 1000n * unit), alice, { finalized: true });
    const name = `requester${lane}`;
    const imported = await cli([...base, 'account', 'import', name], env, `${suri}\n`);
    if (imported.status !== 0) throw new Error(`importing ${name}: ${imported.stderr}`);
    requesters.push(name);
  }
  await api.disconnect();
  // One program for the run, registered by the first job (posted alone, not counted).
  const program = path.join(dir, `sha256-${mode}.wasm`);
  fs.writeFileSync(program, withCustomSection(fs.readFileSync(process.env.STRATUS_KERNEL_WASM), 'bench', 16));
  let next = 0;
  const manifest = (n, policy) => {
    const input = path.join(dir, `input-${mode}-${n}.bin`);
    fs.writeFileSync(input, kernelInput(1, new TextEncoder().encode(`bench-latency ${mode} ${n} ${Date.now()}`)));
    const file = path.join(dir, `job-${mode}-${n}.toml`);
    fs.writeFileSync(file, [
      `program = "${program}"`,
      `input = { file = "${input}" }`,
      'max_price = "2000 planck"',
      'max_units = 200_000_000',
      `policy = "${policy}"`,
      'deadline = "10m"',
      'commit_window = "1m"',
      'max_output = "1 KiB"',
      '',
    ].join('\n'));
    return file;
  };
  const runJob = async (lane, n, policy) => {
    const output = path.join(dir, `out-${mode}-${n}.bin`);
    const r = await cli([...base, '--account', requesters[lane], '--json', 'job', 'submit', manifest(n, policy), '--wait', '-o', output], env);
    if (r.status !== 0) {
      return { mode, policy, failed: `${r.stderr.trim()}\n${r.stdout.slice(-2000)}` };
    }
    const doc = JSON.parse(r.stdout);
    return { mode, policy, job: doc.job, status: doc.status, phases: phasesOf(doc, r.seconds) };
  };
  const warmup = await runJob(0, next++, 'replicated(2)');
  if (warmup.failed) throw new Error(`the first job failed: ${warmup.failed}`);
  // The jobs, interleaved by policy, `lanes` at a time.
  const queue = [];
  for (let i = 0; i < jobs; i++) for (const policy of POLICIES) queue.push(policy);
  const records = [];
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    while (queue.length > 0) {
      const policy = queue.shift();
      const n = next++;
      const record = await runJob(lane, n, policy);
      records.push(record);
      const p = record.phases;
      console.log(record.failed
        ? `[${mode}] ${policy}: FAILED ${record.failed.split('\n')[0]}`
        : `[${mode}] job ${record.job} ${kindOf(record)}: settled +${p.settled?.blocks} blocks, downloaded ${p.downloaded?.seconds.toFixed(1)} s`);
    }
  }));
  fs.writeFileSync(out, JSON.stringify(records, null, 1));
}

function report(files) {
  const records = files.flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const failed = records.filter((r) => r.failed);
  const ok = records.filter((r) => !r.failed);
  const groups = new Map();
  for (const r of ok) {
    const key = `${r.mode}\t${kindOf(r)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const fmt = (v, digits = 0) => (v === undefined ? '—' : v.toFixed(digits));
  const stat = (list, phase, unit, p) => percentile(list.map((r) => r.phases[phase]?.[unit]).filter((v) => v !== undefined), p);
  console.log('');
  console.log('phase blocks: after the block that included the job; seconds: since `stratus job submit` started');
  for (const [key, list] of [...groups.entries()].sort()) {
    const [mode, kind] = key.split('\t');
    console.log('');
    console.log(`${mode} mode, ${kind}: ${list.length} jobs`);
    console.log(`  ${'phase'.padEnd(11)} ${'blocks p50'.padStart(10)} ${'p95'.padStart(5)} ${'seconds p50'.padStart(12)} ${'p95'.padStart(6)}`);
    for (const phase of PHASES) {
      console.log(`  ${phase.padEnd(11)} ${fmt(stat(list, phase, 'blocks', 50)).padStart(10)} ${fmt(stat(list, phase, 'blocks', 95)).padStart(5)} ${fmt(stat(list, phase, 'seconds', 50), 1).padStart(12)} ${fmt(stat(list, phase, 'seconds', 95), 1).padStart(6)}`);
    }
  }
  console.log('');
  const verdicts = [];
  for (const policy of POLICIES) {
    const of = (mode) => groups.get(`${mode}\t${policy}`) ?? [];
    const best = of('best');
    const fin = of('finalized');
    const settled = (list, p) => stat(list, 'settled', 'blocks', p);
    const down = (list, p) => stat(list, 'downloaded', 'seconds', p);
    if (best.length && fin.length) {
      console.log(`${policy} (no spot-check): settled at p50 ${fmt(settled(best, 50))} blocks (best chain) against ${fmt(settled(fin, 50))} (finalized only), ${fmt(settled(fin, 50) / settled(best, 50), 2)}x fewer; downloaded at p50 ${fmt(down(best, 50), 1)} s against ${fmt(down(fin, 50), 1)} s, ${fmt(down(fin, 50) / down(best, 50), 2)}x faster`);
    }
    if (best.length) {
      const ok50 = settled(best, 50) <= 3;
      const ok95 = settled(best, 95) <= 5;
      const ok12 = down(best, 50) <= 12;
      verdicts.push(ok50 && ok95 && ok12);
      console.log(`  target (best chain, ${policy}): median ≤ 3 blocks ${ok50 ? 'met' : 'MISSED'} (${fmt(settled(best, 50))}), p95 ≤ 5 blocks ${ok95 ? 'met' : 'MISSED'} (${fmt(settled(best, 95))}), ≤ 12 s median to the downloaded output ${ok12 ? 'met' : 'MISSED'} (${fmt(down(best, 50), 1)} s)`);
    }
  }
  if (failed.length) {
    console.log(`\n${failed.length} job(s) failed:`);
    for (const r of failed) console.log(`  [${r.mode}] ${r.policy}: ${r.failed.split('\n')[0]}`);
  }
  const met = verdicts.length > 0 && verdicts.every(Boolean) && failed.length === 0;
  console.log(`\nbench-latency: ${met ? 'targets met' : 'targets NOT met'}`);
  return met;
}

if (args.includes('--report')) {
  const files = args.slice(args.indexOf('--report') + 1);
  process.exit(report(files) ? 0 : 1);
} else {
  await post();
  process.exit(0);
}
