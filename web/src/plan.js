// A job form checked as `stratus job submit` checks a manifest (client/src/manifest.rs), before
// anything is signed: each mistake is named with what to write instead, and a form with any
// mistake sends nothing. Amounts are parsed exactly, in integers, never through a float.

import { DECIMALS, PLANCK_PER_STRAT, TOKEN, amount } from './format.js';

const U128_MAX = (1n << 128n) - 1n;
/// Units every worker charges a WASM program per byte before it runs (docs/job-abi.md).
export const COMPILE_UNITS_PER_BYTE = 4096n;

/// "0.002 STRAT", "1000 planck" or "1000" (planck) as planck; throws what to write instead.
export function parseAmount(text, field) {
  const t = String(text).trim();
  const bad = () => new Error(`${field}: "${t}" is not an amount: write e.g. "0.002 ${TOKEN}" or "2000000000 planck"`);
  let planck;
  if (t.endsWith(TOKEN)) {
    const number = t.slice(0, -TOKEN.length).trim();
    if (!/^[0-9]+(\.[0-9]+)?$/.test(number)) throw bad();
    // Exactly, in integers: whole STRAT and the fraction's digits as planck.
    const [whole, fraction = ''] = number.split('.');
    if (fraction.length > DECIMALS) {
      throw new Error(`${field}: "${t}" has more than ${DECIMALS} decimals: a planck is 10^-${DECIMALS} ${TOKEN}`);
    }
    planck = BigInt(whole) * PLANCK_PER_STRAT + BigInt(fraction.padEnd(DECIMALS, '0'));
  } else {
    const number = t.endsWith('planck') ? t.slice(0, -'planck'.length).trim() : t;
    if (!/^[0-9]+$/.test(number)) throw bad();
    planck = BigInt(number);
  }
  if (planck > U128_MAX) throw new Error(`${field}: "${t}" is too large an amount`);
  return planck;
}

/// A whole number from `min` to `max`; throws what to write instead.
function whole(text, field, min, max) {
  const t = String(text).trim();
  if (!/^[0-9]+$/.test(t)) throw new Error(`${field}: "${t}" is not a whole number`);
  const n = BigInt(t);
  if (n < BigInt(min) || n > BigInt(max)) throw new Error(`${field} must be from ${min} to ${max}, not ${t}`);
  return Number(n);
}

/// The policy written as in a manifest: "adaptive", "unverified", "replicated(n)".
export function parsePolicy(text, maxReplication) {
  const t = String(text).trim().toLowerCase();
  if (t === 'adaptive') return { policy: 'Adaptive', mostPaid: (r) => 2 + r, expected: [1, 2] };
  if (t === 'unverified') return { policy: 'Unverified', mostPaid: () => 1, expected: [1, 1] };
  const m = /^replicated\(([0-9]+)\)$/.exec(t);
  if (m) {
    const n = Number(m[1]);
    if (n < 2 || n > maxReplication) throw new Error(`policy: replicated(n) takes n from 2 to ${maxReplication}, not ${n}`);
    return { policy: { Replicated: n }, mostPaid: (r) => n + 1 + r, expected: [n, n + 1] };
  }
  throw new Error(`policy: "${text}" is not a policy: write adaptive, replicated(2) … replicated(${maxReplication}) or unverified`);
}

/// Checks `form` against the chain's `limits` and state; returns `{ errors }` or the job's
/// `{ spec, escrow, expected, describe }`.
///
/// form: program (0x hash), input (text) or inputFile ({ name, bytes }), policy, maxPrice, maxUnits, commitWindow (blocks),
///   deadline (blocks from now), maxOutput (bytes), regions (comma-separated codes, optional).
/// chain: limits (the market's constants), programLen (null when not registered), bestPrice
///   (planck or null), free (the account's free balance), best (the best block number).
export function planJob(form, chain) {
  const { limits } = chain;
  const errors = [];
  const attempt = (f) => {
    try {
      return f();
    } catch (e) {
      errors.push(e.message);
      return undefined;
    }
  };
  const program = String(form.program).trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(program)) {
    errors.push(`program: "${program}" is not a program hash (0x and 64 hex digits); register the program first`);
  } else if (chain.programLen === null) {
    errors.push(`program ${program} is not registered on this chain`);
  }
  // A file's bytes when one is picked (a manifest's `input = { file = "…" }`), the text otherwise.
  const input = form.inputFile ? form.inputFile.bytes : new TextEncoder().encode(form.input ?? '');
  if (input.length > limits.maxInlineInput) {
    const source = form.inputFile ? `the input file ${form.inputFile.name}` : 'the input text';
    errors.push(
      `input: ${source} is ${input.length} bytes, more than the ${limits.maxInlineInput} bytes a job carries inline; serve it over HTTP and post the job with the CLI (input = { url = "https://…", hash = "0x…", size = … })`,
    );
  }
  const policy = attempt(() => parsePolicy(form.policy, limits.maxReplication));
  const maxPrice = attempt(() => parseAmount(form.maxPrice, 'max price'));
  if (maxPrice === 0n) errors.push('max price is 0: name the most you pay per compute unit');
  const maxUnits = attempt(() => whole(form.maxUnits, 'max units', 1, '18446744073709551615'));
  const commitWindow = attempt(() => whole(form.commitWindow, 'commit window', 1, limits.maxJobDuration));
  // The chain wants the deadline after inclusion + ack + commit + reveal windows, and the job is
  // included one block after the best block at the earliest: two more than the windows.
  const shortest = limits.ackWindow + (commitWindow ?? 1) + limits.revealWindow + 2;
  const deadline = attempt(() => whole(form.deadline, 'deadline', shortest, limits.maxJobDuration));
  const maxOutput = attempt(() => whole(form.maxOutput, 'max output', 1, limits.maxOutputBytes));
  const regions = attempt(() =>
    String(form.regions ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '')
      .map((r) => whole(r, 'region', 0, 65535)),
  );
  if (regions && regions.length > limits.maxRequirementItems) {
    errors.push(`regions: at most ${limits.maxRequirementItems}, not ${regions.length}`);
  }
  if (maxUnits !== undefined && chain.programLen !== null && chain.programLen !== undefined) {
    const charge = BigInt(chain.programLen) * COMPILE_UNITS_PER_BYTE;
    if (BigInt(maxUnits) <= charge) {
      errors.push(
        `max units ${maxUnits} does not cover compiling the program: every worker charges ${charge} units for its ${chain.programLen} bytes before it runs; raise max units above ${charge}`,
      );
    }
  }
  if (maxPrice !== undefined && maxUnits !== undefined) {
    if (maxPrice * BigInt(maxUnits) < limits.minJobValue) {
      errors.push(
        `max price × max units is ${amount(maxPrice * BigInt(maxUnits))}, under the ${amount(limits.minJobValue)} a job must be worth to one replica: raise either`,
      );
    }
    if (chain.bestPrice !== null && chain.bestPrice !== undefined && chain.bestPrice > maxPrice) {
      errors.push(`max price ${amount(maxPrice)} is below the best price an offer meeting the requirements asks (${amount(chain.bestPrice)} per unit)`);
    }
  }
  if (errors.length) return { errors };
  const escrow = maxPrice * BigInt(maxUnits) * BigInt(policy.mostPaid(limits.referees));
  if (chain.free < escrow + limits.jobDeposit) {
    return {
      errors: [
        `the escrow (${amount(escrow)}) and the job's storage deposit (${amount(limits.jobDeposit)}) are more than the free balance of ${amount(chain.free)}: lower max units or max price, choose a cheaper policy, or fund the account`,
      ],
    };
  }
  const cost = (replicas) => (chain.bestPrice ?? 0n) * BigInt(maxUnits) * BigInt(replicas);
  const expected = chain.bestPrice === null || chain.bestPrice === undefined ? null : [cost(policy.expected[0]), cost(policy.expected[1])];
  const spec = {
    program,
    input: { Inline: `0x${Array.from(input, (b) => b.toString(16).padStart(2, '0')).join('')}` },
    requirements: {
      minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: regions, regionsDenied: [],
      minCpuCores: 0, minMemoryMib: 0, minStake: 0, minReputation: 0,
    },
    maxPrice,
    maxUnits,
    policy: policy.policy,
    commitWindow,
    deadline: chain.best + deadline,
    maxOutputBytes: maxOutput,
  };
  const describe = `${expected ? `expected cost at the best price: ${amount(expected[0])}${expected[0] === expected[1] ? '' : ` to ${amount(expected[1])}`}` : 'expected cost: unknown until an offer matches'}; worst case ${amount(escrow)} (max price × max units × ${policy.mostPaid(limits.referees)} replicas, held in escrow; what is not used is refunded)`;
  return { errors: [], spec, escrow, expected, describe };
}
