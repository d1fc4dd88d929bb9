// The market's throughput benchmark, driven by `scripts/bench-market` against a dev node it
// starts itself (run it through that script). Not a test: it measures and prints, it asserts
// nothing about the figures.
//
//   1. Set-up (not measured): fund provider and requester accounts from the dev accounts; the
//      providers register with stake and fill the book with offers; a requester registers a tiny
//      WASM program.
//   2. Plain `balances.transfer_keep_alive`s, then `market.submit_job`s that match: each batch is
//      pre-signed with explicit nonces and released into the pool at once, and every block is
//      inspected until the batch is in (count, outcome, post-dispatch weight of each extrinsic;
//      block weight and length; the proposer's build time and end reason from the node log).
//   3. Weights: declared (`TransactionPaymentApi::query_info`) and actual (the `ExtrinsicSuccess`
//      events' post-dispatch weight, i.e. after refunds), and what they allow at the block weight
//      limit.
//
// Transfers go first: every matched job queues an acknowledgement deadline `AckWindow` blocks on,
// which the runtime handles in `on_initialize`; measuring transfers afterwards would charge that
// work to the transfer blocks.
//
// Environment: STRATUS_WS, BENCH_OFFERS, BENCH_JOBS, BENCH_TRANSFERS (the sizes);
// BENCH_REQUESTERS (senders of the measured extrinsics, 50), BENCH_SLOTS_PER_OFFER (16),
// BENCH_TIMEOUT_S (per phase, 600), BENCH_GATE=0 (submit in
// nonce order instead of releasing a pre-loaded batch), BENCH_NODE_LOG (the node's log, for the
// proposer's lines), BENCH_NODE_BINARY (named in the report), BENCH_JSON (write the report there).
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady, randomAsU8a } from '@polkadot/util-crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const env = process.env;
const URL = env.STRATUS_WS ?? 'ws://127.0.0.1:9944';
const UNIT = 10n ** 12n;
const HERE = dirname(fileURLToPath(import.meta.url));

function int(name, fallback, min = 0) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new Error(`${name} must be an integer ≥ ${min}, not ${JSON.stringify(raw)}`);
  }
  return n;
}

const OFFERS = int('BENCH_OFFERS', 3000, 1);
const JOBS = int('BENCH_JOBS', 3000);
const TRANSFERS = int('BENCH_TRANSFERS', 3000);
const REQUESTERS = int('BENCH_REQUESTERS', 50, 1);
const SLOTS_PER_OFFER = int('BENCH_SLOTS_PER_OFFER', 16, 1);
// The chain allows one open offer per provider and resource class (all of these are CPU offers).
const OFFERS_PER_PROVIDER = 1;
const PHASE_TIMEOUT_S = int('BENCH_TIMEOUT_S', 600, 10);
const GATE = env.BENCH_GATE !== '0';
const NODE_LOG = env.BENCH_NODE_LOG;
const NODE_BINARY = env.BENCH_NODE_BINARY ?? '(not named)';
const JSON_OUT = env.BENCH_JSON;

// Book and job terms (planck per compute unit).
const OFFER_PRICE_MIN = 1_000n;
const OFFER_PRICE_MAX = 100_000n;
const JOB_MAX_PRICE = 200_000n; // above every offer: every job matches the cheapest one
const JOB_MAX_UNITS = 1000;
const JOB_INPUT_BYTES = 32;
const TRANSFER_AMOUNT = UNIT; // 1 STRAT to a fresh account (above the existential deposit)
const PROGRAM = '0x0061736d01000000'; // the smallest WASM module: magic and version
// How long a mortal extrinsic stays valid, in blocks (a power of two ≤ BlockHashCount).
const ERA_PERIOD = 1024;
// Blocks without any of the batch's extrinsics before the pool is asked whether any are left.
const STALL_BLOCKS = 10;
// Concurrent `author_submitExtrinsic` calls in flight.
const SUBMIT_CONCURRENCY = 256;
// Dev accounts endowed at genesis (`Sr25519Keyring::iter()` without One and Two).
const FUNDERS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie']
  .flatMap((n) => [`//${n}`, `//${n}//stash`]);

const t0 = Date.now();
let api;

function log(msg) {
  process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n) => (typeof n === 'bigint' ? n : BigInt(Math.round(Number(n))))
  .toString().replace(/\B(?=(\d{3})+(?!\d))/g, '_');
const strat = (planck) => `${(Number(planck) / 1e12).toLocaleString('en-US', { maximumFractionDigits: 3 })} STRAT`;
const pct = (a, b) => (b === 0n ? 'n/a' : `${(Number(a * 10000n / b) / 100).toFixed(1)}%`);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const bigMean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0n) / BigInt(xs.length) : 0n);
const bigMin = (xs) => xs.reduce((a, b) => (b < a ? b : a), xs[0] ?? 0n);
const bigMax = (xs) => xs.reduce((a, b) => (b > a ? b : a), xs[0] ?? 0n);
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function describeDispatchError(err) {
  if (err.isModule) {
    const { section, name, docs } = api.registry.findMetaError(err.asModule);
    return `${section}.${name}: ${docs.join(' ').slice(0, 160)}`;
  }
  return err.toString();
}

// ── nonces and signing ──────────────────────────────────────────────────────────────────────

const nonces = new Map();

async function loadNonces(pairs) {
  const got = await Promise.all(pairs.map((p) => api.rpc.system.accountNextIndex(p.address)));
  pairs.forEach((p, i) => nonces.set(p.address, got[i].toNumber()));
}

/// Mortal-era options anchored at the best block, so that signing needs no RPC per extrinsic.
async function eraOptions() {
  const header = await api.rpc.chain.getHeader();
  return {
    blockHash: header.hash,
    era: api.registry.createType('ExtrinsicEra', { current: header.number, period: ERA_PERIOD }),
  };
}

/// Sign `items` ({ tx, pair, tag }) in order, each with its sender's next nonce.
async function signAll(items) {
  const era = await eraOptions();
  const out = [];
  for (const { tx, pair, tag } of items) {
    const nonce = nonces.get(pair.address);
    if (nonce === undefined) throw new Error(`no nonce loaded for ${pair.address}`);
    nonces.set(pair.address, nonce + 1);
    await tx.signAsync(pair, { nonce, era: era.era, blockHash: era.blockHash });
    out.push({ ext: tx, hash: tx.hash.toHex(), sender: pair.address, nonce, tag });
  }
  return out;
}

// ── submission ──────────────────────────────────────────────────────────────────────────────

/// Submit `signed` with up to SUBMIT_CONCURRENCY calls in flight. Returns the hashes the pool
/// refused, and the refusal reasons with their counts.
async function submitAll(signed) {
  const refused = new Set();
  const reasons = new Map();
  let next = 0;
  const worker = async () => {
    while (next < signed.length) {
      const s = signed[next++];
      try {
        await api.rpc.author.submitExtrinsic(s.ext);
      } catch (e) {
        refused.add(s.hash);
        const reason = String(e?.message ?? e).replace(/\s+/g, ' ').slice(0, 200);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SUBMIT_CONCURRENCY, signed.length) }, worker));
  return { refused, reasons };
}

// ── following blocks ────────────────────────────────────────────────────────────────────────

/// What the node's proposer said about each block it built: build time, why it stopped adding
/// extrinsics. Keyed by block number: the hash it logs is the unsealed header's, not the block's
/// (one author, no forks: a number names one block).
function proposerLines() {
  const found = new Map();
  if (!NODE_LOG || !existsSync(NODE_LOG)) return found;
  // eslint-disable-next-line no-control-regex
  const text = readFileSync(NODE_LOG, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
  const re = /Prepared block for proposing at (\d+) \((\d+) ms\) hash: \S+; parent_hash: \S+; end: (\w+); extrinsics_count: (\d+)/g;
  for (const m of text.matchAll(re)) {
    found.set(Number(m[1]), { buildMs: Number(m[2]), end: m[3], builtExtrinsics: Number(m[4]) });
  }
  return found;
}

/// Everything about block `number` that concerns the extrinsics in `pending` (hash → signed
/// item); those found are removed from `pending`.
async function inspectBlock(number, pending) {
  const hash = await api.rpc.chain.getBlockHash(number);
  const [signedBlock, events, weight, now] = await Promise.all([
    api.rpc.chain.getBlock(hash),
    api.query.system.events.at(hash),
    api.query.system.blockWeight.at(hash),
    api.query.timestamp.now.at(hash),
  ]);
  const extrinsics = signedBlock.block.extrinsics;
  const ours = new Map(); // extrinsic index → per-extrinsic record
  let length = 0;
  extrinsics.forEach((ext, i) => {
    length += ext.encodedLength;
    const h = ext.hash.toHex();
    const item = pending.get(h);
    if (item) {
      pending.delete(h);
      ours.set(i, { tag: item.tag, ok: null, refTime: 0n, proofSize: 0n, events: {} });
    }
  });
  const failures = new Map();
  for (const { phase, event } of events) {
    if (!phase.isApplyExtrinsic) continue;
    const rec = ours.get(phase.asApplyExtrinsic.toNumber());
    if (!rec) continue;
    const key = `${event.section}.${event.method}`;
    rec.events[key] = (rec.events[key] ?? 0) + 1;
    if (key === 'system.ExtrinsicSuccess' || key === 'system.ExtrinsicFailed') {
      const info = event.data.dispatchInfo;
      rec.ok = key === 'system.ExtrinsicSuccess';
      rec.refTime = info.weight.refTime.toBigInt();
      rec.proofSize = info.weight.proofSize.toBigInt();
      if (!rec.ok) {
        const why = `${rec.tag}: ${describeDispatchError(event.data.dispatchError)}`;
        failures.set(why, (failures.get(why) ?? 0) + 1);
      }
    }
  }
  const records = [...ours.values()];
  const count = (key) => records.reduce((a, r) => a + (r.events[key] ?? 0), 0);
  return {
    number,
    hash: hash.toHex(),
    timestamp: now.toNumber(),
    extrinsics: extrinsics.length,
    length,
    normal: { refTime: weight.normal.refTime.toBigInt(), proofSize: weight.normal.proofSize.toBigInt() },
    mandatory: { refTime: weight.mandatory.refTime.toBigInt(), proofSize: weight.mandatory.proofSize.toBigInt() },
    ours: records.length,
    succeeded: records.filter((r) => r.ok === true).length,
    failed: records.filter((r) => r.ok === false).length,
    jobsSubmitted: count('market.JobSubmitted'),
    replicasAssigned: count('market.ReplicaAssigned'),
    transfers: count('balances.Transfer'),
    records,
    failures,
  };
}

/// Follow blocks after `fromNumber` until every extrinsic of `signed` not in `refused` is in a
/// block, the batch stalls with nothing of it left in the pool, or `timeoutS` passes.
async function follow(label, fromNumber, signed, refused, timeoutS) {
  const pending = new Map(signed.filter((s) => !refused.has(s.hash)).map((s) => [s.hash, s]));
  const expected = pending.size;
  const blocks = [];
  const failures = new Map();
  const deadline = Date.now() + timeoutS * 1000;
  let next = fromNumber + 1;
  let lastProgress = fromNumber;
  let timedOut = false;
  let lost = 0;
  let lastLog = 0;
  while (pending.size > 0) {
    if (Date.now() > deadline) {
      timedOut = true;
      log(`${label}: timed out after ${timeoutS} s with ${pending.size} of ${expected} not in a block`);
      break;
    }
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    if (best < next) {
      await sleep(200);
      continue;
    }
    for (; next <= best && pending.size > 0; next++) {
      const b = await inspectBlock(next, pending);
      blocks.push(b);
      for (const [why, n] of b.failures) failures.set(why, (failures.get(why) ?? 0) + n);
      if (b.ours > 0) lastProgress = next;
    }
    if (Date.now() - lastLog > 5000 || pending.size === 0) {
      lastLog = Date.now();
      log(`${label}: ${expected - pending.size}/${expected} in blocks (best #${best})`);
    }
    if (pending.size > 0 && best - lastProgress >= STALL_BLOCKS) {
      const inPool = new Set((await api.rpc.author.pendingExtrinsics()).map((e) => e.hash.toHex()));
      const left = [...pending.keys()].filter((h) => inPool.has(h)).length;
      if (left === 0) {
        lost = pending.size;
        log(`${label}: ${lost} extrinsics were never included and are no longer in the pool ` +
          '(dropped, or waiting for a nonce that never came); stopping');
        break;
      }
      log(`${label}: nothing included for ${STALL_BLOCKS} blocks; ${left} still in the pool, waiting`);
      lastProgress = best;
    }
  }
  // Blocks are inspected as soon as they are best; the proposer's line is in the log by then.
  const lines = proposerLines();
  for (const b of blocks) {
    const line = lines.get(b.number);
    Object.assign(b, line && line.builtExtrinsics === b.extrinsics ? line : { buildMs: null, end: null });
  }
  return { blocks, failures, expected, missing: pending.size, lost, timedOut };
}

/// Submit a batch and wait for it. With GATE, each sender's extrinsics but its first are
/// submitted first (they wait in the pool's future queue for the missing nonce), then the first
/// ones release every chain at once, so that from then on the pool never runs dry while the
/// batch lasts. Returns the blocks and the release time.
async function runBatch(label, signed, { gate, timeoutS }) {
  const start = (await api.rpc.chain.getHeader()).number.toNumber();
  const refused = new Set();
  const reasons = new Map();
  const add = (r) => {
    r.refused.forEach((h) => refused.add(h));
    for (const [why, n] of r.reasons) reasons.set(why, (reasons.get(why) ?? 0) + n);
  };
  let preloadedAt = null;
  let releasedAt;
  if (gate) {
    const first = new Map();
    for (const s of signed) if (!first.has(s.sender) || s.nonce < first.get(s.sender).nonce) first.set(s.sender, s);
    const gates = new Set([...first.values()].map((s) => s.hash));
    const rest = signed.filter((s) => !gates.has(s.hash));
    const tPre = Date.now();
    add(await submitAll(rest));
    preloadedAt = Date.now();
    log(`${label}: ${rest.length - refused.size} waiting in the pool for their senders' first ` +
      `nonce (${((preloadedAt - tPre) / 1000).toFixed(1)} s); releasing with ${gates.size}`);
    add(await submitAll(signed.filter((s) => gates.has(s.hash))));
    releasedAt = Date.now();
  } else {
    const tSub = Date.now();
    add(await submitAll(signed));
    releasedAt = Date.now();
    log(`${label}: submitted in ${((releasedAt - tSub) / 1000).toFixed(1)} s`);
  }
  if (reasons.size) {
    log(`${label}: the pool refused ${refused.size} extrinsics:`);
    for (const [why, n] of reasons) log(`  ${n} × ${why}`);
  }
  const followed = await follow(label, start, signed, refused, timeoutS);
  return { ...followed, refused: refused.size, refusalReasons: reasons, releasedAt, preloadedAt, start };
}

function requireClean(label, result) {
  const problems = [];
  if (result.refused) problems.push(`${result.refused} refused by the pool`);
  for (const [why, n] of result.failures) problems.push(`${n} failed: ${why}`);
  if (result.missing) problems.push(`${result.missing} never included`);
  if (problems.length) throw new Error(`set-up (${label}) did not complete:\n  ${problems.join('\n  ')}`);
}

// ── phase statistics ────────────────────────────────────────────────────────────────────────

/// Per-block figures for a measured batch. `unit(b)` is what the phase counts in block `b`
/// (matched jobs, transfers).
///
/// A block is *full* when it was built after the whole batch was in the pool (its timestamp,
/// the start of its slot, is at or after the release) and some of the batch was still waiting
/// when it was sealed (a later block holds more of it): the pool did not run dry, so whatever
/// stopped the block — weight, length or the proposer's time limit — was the block, not supply.
///
/// The rows run from the first block that holds some of the batch or was built after the release
/// (a block the pool left empty counts, with 0) to the last block that holds some of it.
function phaseStats(result, unit, slotMs, limits) {
  const { blocks } = result;
  const total = blocks.reduce((a, b) => a + b.ours, 0);
  const lastIdx = blocks.findLastIndex((b) => b.ours > 0);
  const firstIdx = blocks.findIndex((b) => b.ours > 0 || b.timestamp >= result.releasedAt);
  let cumulative = 0;
  const rows = (lastIdx < 0 ? [] : blocks.slice(firstIdx, lastIdx + 1)).map((b) => {
    cumulative += b.ours;
    const full = b.timestamp >= result.releasedAt && cumulative < total;
    return { ...b, full, unit: unit(b) };
  });
  const full = rows.filter((r) => r.full);
  const units = full.map((r) => r.unit);
  const first = rows[0];
  const last = rows[rows.length - 1];
  const span = first ? last.number - first.number + 1 : 0;
  const counted = rows.reduce((a, r) => a + r.unit, 0);
  const endReasons = {};
  for (const r of full) endReasons[r.end ?? 'unknown'] = (endReasons[r.end ?? 'unknown'] ?? 0) + 1;
  const buildUsPerExt = full.filter((r) => r.buildMs != null && r.ours > 0 && r.end !== 'NoMoreTransactions')
    .map((r) => (r.buildMs * 1000) / r.extrinsics);
  const records = rows.flatMap((r) => r.records);
  return {
    included: total,
    counted,
    blocks: span,
    firstBlock: first?.number ?? null,
    lastBlock: last?.number ?? null,
    fullBlocks: full.length,
    perFullBlock: { max: units.length ? Math.max(...units) : 0, mean: round(mean(units), 1) },
    perSecondFull: round(mean(units) / (slotMs / 1000), 1),
    // Over every block from the first to the last that holds the batch: the batch's throughput,
    // ramp-up and tail included.
    perSecondSpan: span ? round(counted / ((span * slotMs) / 1000), 1) : 0,
    fullNormalWeightShare: full.length
      ? round(mean(full.map((r) => Number((r.normal.refTime * 10000n) / limits.normalMax) / 100)), 1)
      : null,
    fullLengthShare: full.length
      ? round(mean(full.map((r) => (r.length * 100) / limits.normalLength)), 1)
      : null,
    endReasons,
    buildUsPerExtrinsic: buildUsPerExt.length ? round(mean(buildUsPerExt), 0) : null,
    rows,
    records,
  };
}

function blockTable(stats, unitName, limits) {
  const lines = [`    block   ${unitName.padStart(9)}  extr.  normal weight (ref_time)   length     mandatory   build   end of block`];
  for (const r of stats.rows) {
    lines.push(
      `    #${String(r.number).padEnd(6)} ${String(r.unit).padStart(9)}  ${String(r.extrinsics).padStart(5)}  ` +
      `${(fmt(r.normal.refTime) + ' ps').padStart(19)} ${pct(r.normal.refTime, limits.normalMax).padStart(6)}  ` +
      `${(Math.round(r.length / 1024) + ' KiB').padStart(8)}  ${pct(r.mandatory.refTime, limits.maxBlock).padStart(9)}  ` +
      `${r.buildMs == null ? '    ?' : (r.buildMs + ' ms').padStart(7)}  ${r.end ?? '?'}${r.full ? '  [full]' : ''}` +
      `${r.failed ? `  ${r.failed} failed` : ''}`,
    );
  }
  return lines.join('\n');
}

// ── main ────────────────────────────────────────────────────────────────────────────────────

async function main() {
  await cryptoWaitReady();
  const provider = new WsProvider(URL, 1000, {}, 120_000);
  api = await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  const [chain, version] = await Promise.all([api.rpc.system.chain(), api.rpc.system.version()]);
  const runtime = api.runtimeVersion;
  log(`connected to ${URL}: ${chain}, node ${version}, runtime ${runtime.specName} v${runtime.specVersion}`);

  // Limits and constants.
  const bw = api.consts.system.blockWeights;
  const normalClass = bw.perClass.normal;
  const limits = {
    maxBlock: bw.maxBlock.refTime.toBigInt(),
    normalMax: normalClass.maxTotal.unwrapOr(bw.maxBlock).refTime.toBigInt(),
    normalMaxExtrinsic: normalClass.maxExtrinsic.isSome ? normalClass.maxExtrinsic.unwrap().refTime.toBigInt() : null,
    baseExtrinsic: normalClass.baseExtrinsic.refTime.toBigInt(),
    baseBlock: bw.baseBlock.refTime.toBigInt(),
    normalLength: api.consts.system.blockLength.max.normal.toNumber(),
  };
  const slotMs = (api.consts.aura?.slotDuration?.toNumber?.())
    || api.consts.timestamp.minimumPeriod.toNumber() * 2;
  const stakePerSlot = api.consts.providerStaking.minStakePerSlot.toBigInt();
  const maxOffersPerProvider = api.consts.market.maxOffersPerProvider.toNumber();
  const maxSlotsPerOffer = api.consts.market.maxSlotsPerOffer.toNumber();
  const offersPerProvider = Math.min(OFFERS_PER_PROVIDER, maxOffersPerProvider, OFFERS);
  void maxOffersPerProvider;
  if (SLOTS_PER_OFFER > maxSlotsPerOffer) throw new Error(`BENCH_SLOTS_PER_OFFER > MaxSlotsPerOffer (${maxSlotsPerOffer})`);

  // Accounts.
  const providerCount = Math.ceil(OFFERS / offersPerProvider);
  const providers = Array.from({ length: providerCount }, (_, i) => keyring.addFromUri(`//BenchProvider/${i}`));
  const requesterCount = Math.max(1, Math.min(REQUESTERS, Math.max(JOBS, TRANSFERS, 1)));
  const requesters = Array.from({ length: requesterCount }, (_, i) => keyring.addFromUri(`//BenchRequester/${i}`));
  const funders = FUNDERS.map((uri) => keyring.addFromUri(uri));
  // Offers per provider: as even as possible, OFFERS in all.
  const offerCounts = providers.map((_, i) => Math.floor(OFFERS / providerCount) + (i < OFFERS % providerCount ? 1 : 0));
  const totalSlots = OFFERS * SLOTS_PER_OFFER;
  if (JOBS > totalSlots) log(`warning: ${JOBS} jobs but only ${totalSlots} slots: the rest will not match`);

  // ── set-up 1: funding ────────────────────────────────────────────────────────────────────
  const feeMargin = 20n * UNIT;
  const providerFund = (i) => BigInt(offerCounts[i] * SLOTS_PER_OFFER) * stakePerSlot + feeMargin;
  const perRequester = (n) => Math.ceil(n / requesterCount);
  const requesterFund = feeMargin + BigInt(perRequester(TRANSFERS)) * (TRANSFER_AMOUNT + UNIT / 10n) +
    BigInt(perRequester(JOBS)) * (JOB_MAX_PRICE * BigInt(JOB_MAX_UNITS) + UNIT / 10n) + UNIT;
  const needs = [
    ...providers.map((p, i) => ({ to: p, amount: providerFund(i) })),
    ...requesters.map((r) => ({ to: r, amount: requesterFund })),
  ];
  const funderFree = await Promise.all(funders.map(async (f) => (await api.query.system.account(f.address)).data.free.toBigInt()));
  const budget = funderFree.map((b) => (b > 1000n * UNIT ? b - 1000n * UNIT : 0n));
  const current = await Promise.all(needs.map(async (n) => (await api.query.system.account(n.to.address)).data.free.toBigInt()));
  const fundItems = [];
  let f = 0;
  needs.forEach((n, i) => {
    if (current[i] >= n.amount) return; // already funded (a re-run against the same chain)
    const amount = n.amount - current[i];
    while (f < funders.length && budget[f] < amount) f++;
    if (f === funders.length) {
      throw new Error('the dev accounts cannot fund this many offers: lower --offers (or BENCH_SLOTS_PER_OFFER)');
    }
    budget[f] -= amount;
    fundItems.push({ tx: api.tx.balances.transferKeepAlive(n.to.address, amount), pair: funders[f], tag: 'funding' });
  });
  await loadNonces([...funders, ...providers, ...requesters]);
  const setupStart = Date.now();
  if (fundItems.length) {
    log(`set-up: funding ${fundItems.length} accounts (${providers.length} providers, ${requesters.length} requesters)`);
    const r = await runBatch('funding', await signAll(fundItems), { gate: false, timeoutS: PHASE_TIMEOUT_S });
    requireClean('funding', r);
  }

  // ── set-up 2: providers, offers, program ─────────────────────────────────────────────────
  const profile = {
    kinds: ['Wasm'], gpus: [], cpuCores: 16, memoryMib: 32_768, region: 276, endpoint: null,
  };
  const best0 = (await api.rpc.chain.getHeader()).number.toNumber();
  const expiresAt = best0 + 100_000;
  const firstOfferId = (await api.query.market.nextOfferId()).toNumber();
  const marketItems = [];
  // Prices spread evenly over [min, max], interleaved across providers so that the cheapest
  // offers belong to different providers and the book is deep at every price.
  const priceOf = (g) => (OFFERS === 1 ? OFFER_PRICE_MIN
    : OFFER_PRICE_MIN + (BigInt(g) * (OFFER_PRICE_MAX - OFFER_PRICE_MIN)) / BigInt(OFFERS - 1));
  const registered = await Promise.all(providers.map((p) => api.query.providerStaking.providers(p.address)));
  providers.forEach((p, i) => {
    if (registered[i].isNone) {
      const stake = BigInt(offerCounts[i] * SLOTS_PER_OFFER) * stakePerSlot;
      marketItems.push({ tx: api.tx.providerStaking.register(p.address, profile, stake, null), pair: p, tag: 'providerStaking.register' });
    }
  });
  let g = 0;
  for (let k = 0; k < offersPerProvider; k++) {
    providers.forEach((p, i) => {
      if (k < offerCounts[i]) {
        marketItems.push({ tx: api.tx.market.postOffer('Cpu', priceOf(g++), SLOTS_PER_OFFER, expiresAt), pair: p, tag: 'market.postOffer' });
      }
    });
  }
  const programHash = blake2AsHex(PROGRAM, 256);
  if ((await api.query.market.programs(programHash)).isNone) {
    marketItems.push({ tx: api.tx.market.registerProgram('Wasm', PROGRAM), pair: requesters[0], tag: 'market.registerProgram' });
  }
  log(`set-up: ${marketItems.length} extrinsics (registrations, ${OFFERS} offers of ${SLOTS_PER_OFFER} slots, the program)`);
  // Sign per sender in nonce order (register before its offers).
  const marketSigned = await signAll(marketItems);
  const rm = await runBatch('book', marketSigned, { gate: false, timeoutS: PHASE_TIMEOUT_S });
  requireClean('book', rm);
  const posted = rm.blocks.reduce((a, b) => a + b.records.reduce((x, r) => x + (r.events['market.OfferPosted'] ?? 0), 0), 0);
  const nextOfferId = (await api.query.market.nextOfferId()).toNumber();
  const bookKeys = (await api.query.market.offerBook.keys('Wasm')).length;
  const setupSeconds = (Date.now() - setupStart) / 1000;
  log(`set-up done in ${setupSeconds.toFixed(0)} s: ${posted} offers posted (ids ${firstOfferId}..${nextOfferId - 1}), ${bookKeys} in the WASM book`);

  // ── measured: transfers ──────────────────────────────────────────────────────────────────
  const transferItems = Array.from({ length: TRANSFERS }, (_, i) => ({
    tx: api.tx.balances.transferKeepAlive(u8aToHex(randomAsU8a(32)), TRANSFER_AMOUNT),
    pair: requesters[i % requesterCount],
    tag: 'balances.transferKeepAlive',
  }));
  let transfers = null;
  let transferDeclared = null;
  if (TRANSFERS > 0) {
    log(`transfers: signing ${TRANSFERS}`);
    const signed = await signAll(transferItems);
    transferDeclared = await api.call.transactionPaymentApi.queryInfo(signed[0].ext.toU8a(), signed[0].ext.encodedLength);
    transfers = await runBatch('transfers', signed, { gate: GATE, timeoutS: PHASE_TIMEOUT_S });
    transfers.avgLength = mean(signed.map((s) => s.ext.encodedLength));
  }

  // ── measured: jobs ───────────────────────────────────────────────────────────────────────
  let jobs = null;
  let jobDeclared = null;
  if (JOBS > 0) {
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const jobItems = Array.from({ length: JOBS }, (_, i) => ({
      tx: api.tx.market.submitJob({
        program: programHash,
        input: { Inline: u8aToHex(randomAsU8a(JOB_INPUT_BYTES)) },
        requirements: {
          minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [],
          regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0,
        },
        maxPrice: JOB_MAX_PRICE,
        maxUnits: JOB_MAX_UNITS,
        policy: 'Unverified',
        commitWindow: 50,
        deadline: best + 500,
        maxOutputBytes: 1 << 20,
      }),
      pair: requesters[i % requesterCount],
      tag: 'market.submitJob',
    }));
    log(`jobs: signing ${JOBS}`);
    const signed = await signAll(jobItems);
    jobDeclared = await api.call.transactionPaymentApi.queryInfo(signed[0].ext.toU8a(), signed[0].ext.encodedLength);
    jobs = await runBatch('jobs', signed, { gate: GATE, timeoutS: PHASE_TIMEOUT_S });
    jobs.avgLength = mean(signed.map((s) => s.ext.encodedLength));
  }

  // ── figures ──────────────────────────────────────────────────────────────────────────────
  const matchedUnit = (b) => b.records.filter((r) => r.ok && (r.events['market.ReplicaAssigned'] ?? 0) > 0).length;
  const transferUnit = (b) => b.transfers;
  const js = jobs && phaseStats(jobs, matchedUnit, slotMs, limits);
  const ts = transfers && phaseStats(transfers, transferUnit, slotMs, limits);

  const weightOf = (records, pred) => {
    const sel = records.filter(pred);
    return {
      n: sel.length,
      refTime: { mean: bigMean(sel.map((r) => r.refTime)), min: bigMin(sel.map((r) => r.refTime)), max: bigMax(sel.map((r) => r.refTime)) },
      proofSize: { mean: bigMean(sel.map((r) => r.proofSize)) },
    };
  };
  const wJob = js && weightOf(js.records, (r) => r.ok && (r.events['market.ReplicaAssigned'] ?? 0) > 0);
  const wTr = ts && weightOf(ts.records, (r) => r.ok && (r.events['balances.Transfer'] ?? 0) > 0);
  // The events' weight is what the extrinsic took from the block: its post-dispatch weight
  // (after any refund) plus the base extrinsic weight. `query_info`'s is the declared, pre-dispatch
  // weight without the base.
  const atLimit = (w) => {
    if (!w || w.n === 0) return null;
    const perBlock = limits.normalMax / w.refTime.mean;
    return { perExtrinsic: w.refTime.mean, perBlock: Number(perBlock), perSecond: round(Number(perBlock) / (slotMs / 1000), 1) };
  };
  const jobLimit = atLimit(wJob);
  const trLimit = atLimit(wTr);
  const ratio = (x, y) => (y > 0n ? round(Number((x * 10000n) / y) / 10000, 2) : null);
  const ratios = wJob?.n && wTr?.n ? {
    inBlock: ratio(wJob.refTime.mean, wTr.refTime.mean),
    dispatchOnly: ratio(wJob.refTime.mean - limits.baseExtrinsic, wTr.refTime.mean - limits.baseExtrinsic),
    declared: ratio(jobDeclared.weight.refTime.toBigInt(), transferDeclared.weight.refTime.toBigInt()),
  } : null;

  // Whether the market's weights are the generated ones.
  let weightsNote = null;
  const weightsFile = join(HERE, '..', '..', 'pallets', 'market', 'src', 'weights.rs');
  if (existsSync(weightsFile) && /placeholder/i.test(readFileSync(weightsFile, 'utf8').slice(0, 400))) {
    weightsNote = 'pallet_market\'s WeightInfo is still the placeholder (pallets/market/src/weights.rs): ' +
      'the weight figures below are those placeholders, not benchmarked weights';
  }

  // ── report ───────────────────────────────────────────────────────────────────────────────
  const out = [];
  const say = (s = '') => out.push(s);
  const slotS = slotMs / 1000;
  say(`Stratus market benchmark — node ${NODE_BINARY} (${version}), runtime ${runtime.specName} v${runtime.specVersion}, ${new Date().toISOString()}`);
  say(`block: ${slotS} s slots; normal-class limit ${fmt(limits.normalMax)} ps ref_time of ${fmt(limits.maxBlock)} (base block ${fmt(limits.baseBlock)}, base extrinsic ${fmt(limits.baseExtrinsic)} ps), ${Math.round(limits.normalLength / 1024)} KiB normal length`);
  say(`book: ${posted} offers by ${providers.length} provider${providers.length === 1 ? '' : 's'} (${fmt(totalSlots)} slots of ${SLOTS_PER_OFFER}), prices ${OFFER_PRICE_MIN}..${OFFER_PRICE_MAX} planck/unit spread evenly; ${bookKeys} offers in the book after set-up (${setupSeconds.toFixed(0)} s)`);
  say(`senders: ${requesterCount} requesters; extrinsics pre-signed and ${GATE ? 'released into the pool at once (each sender\'s later nonces pre-loaded, then its first)' : 'submitted in nonce order'}`);
  say(`"full" block: built after the whole batch was in the pool, with some of it still waiting after it (the pool did not run dry); per second = per block ÷ ${slotS} s`);
  if (weightsNote) say(`note: ${weightsNote}`);
  say();
  const phaseLine = (name, s, r, what) => {
    if (!s) return `${name} none measured`;
    const missing = r.refused + r.missing;
    const head = `${name} ${s.counted} ${what} of ${s.included} included in ${s.blocks} blocks (#${s.firstBlock}..#${s.lastBlock})` +
      `${missing ? `, ${missing} never included` : ''}`;
    const fullPart = s.fullBlocks
      ? ` — per full block (${s.fullBlocks}): max ${s.perFullBlock.max}, mean ${s.perFullBlock.mean}; per second: ${s.perSecondFull}`
      : ' — no full block (the batch fit in the blocks it needed; raise the count)';
    return `${head}${fullPart}; over the whole span: ${s.perSecondSpan}/s`;
  };
  say(phaseLine('matched jobs:', js, jobs, 'matched'));
  say(phaseLine('transfers:   ', ts, transfers, 'transfers'));
  if (js?.fullBlocks && ts?.fullBlocks) {
    say(`ratio jobs/transfers per full block (measured): ${round(js.perFullBlock.mean / ts.perFullBlock.mean, 3)}`);
  }
  let deadlineBound = false;
  for (const [name, s, w] of [['jobs', js, wJob], ['transfers', ts, wTr]]) {
    if (!s?.fullBlocks) continue;
    const ends = Object.entries(s.endReasons).map(([k, v]) => `${k} ×${v}`).join(', ');
    if (s.endReasons.HitDeadline) deadlineBound = true;
    let build = '';
    if (s.buildUsPerExtrinsic != null) {
      build = `; building took ${s.buildUsPerExtrinsic} µs per extrinsic`;
      if (w?.n) {
        const weightUs = Number(w.refTime.mean) / 1e6;
        build += ` against ${round(weightUs, 0)} µs of weight (×${round(s.buildUsPerExtrinsic / weightUs, 1)})`;
      }
    }
    say(`  ${name} full blocks: normal weight ${s.fullNormalWeightShare}% of the limit, length ${s.fullLengthShare}% — ` +
      `what ended them: ${ends}${build}`);
  }
  if (deadlineBound) {
    say('  caveat: full blocks ended at the proposer\'s time limit (HitDeadline: about 1.8 s of the 3 s slot), not at the ' +
      'weight limit — this node and machine execute slower than the weights assume, so the measured per-block figures ' +
      'are this machine\'s; "at the weight limit" below is what the weights allow');
  }
  for (const [name, r] of [['jobs', jobs], ['transfers', transfers]]) {
    if (!r) continue;
    for (const [why, n] of r.failures) say(`  ${name}: ${n} failed — ${why}`);
    for (const [why, n] of r.refusalReasons) say(`  ${name}: ${n} refused by the pool — ${why}`);
    if (r.lost) say(`  ${name}: ${r.lost} dropped from the pool without being included`);
    if (r.timedOut) say(`  ${name}: timed out after ${PHASE_TIMEOUT_S} s`);
  }
  if (js) {
    const unmatched = js.records.filter((r) => r.ok && !(r.events['market.ReplicaAssigned'] > 0)).length;
    if (unmatched) say(`  jobs: ${unmatched} submitted but not matched (they rest in the job book)`);
  }
  say();
  const weightLine = (name, w, declared, count) => {
    const range = w.refTime.min !== w.refTime.max ? ` [${fmt(w.refTime.min)}..${fmt(w.refTime.max)}]` : '';
    return `  ${name} ${fmt(w.refTime.mean)} ps${range} (proof ${fmt(w.proofSize.mean)} B) over ${w.n} ${count}; ` +
      `declared ${fmt(declared.weight.refTime.toBigInt())} ps (proof ${fmt(declared.weight.proofSize.toBigInt())} B)`;
  };
  if (wJob?.n || wTr?.n) {
    say(`weight per extrinsic, ref_time — actual: what it took from the block (post-dispatch, after refunds, plus the ${fmt(limits.baseExtrinsic)} ps base extrinsic weight);`);
    say('  declared: query_info\'s pre-dispatch worst case, without the base:');
    if (wJob?.n) say(weightLine('submit_job, matched:', wJob, jobDeclared, 'matched jobs'));
    if (wTr?.n) say(weightLine('transfer_keep_alive:', wTr, transferDeclared, 'transfers'));
    if (ratios) {
      say(`  ratio job/transfer: ${ratios.inBlock} in a block — target ≤ 2.0; ${ratios.dispatchOnly} without the base extrinsic weight; ${ratios.declared} declared`);
    }
    say(`at the weight limit (${fmt(limits.normalMax)} ps of normal-class ref_time per ${slotS} s block, actual weights):`);
    if (jobLimit) say(`  matched jobs: ${Math.floor(jobLimit.perBlock)} per block, ${jobLimit.perSecond} per second — target ≥ 500/s`);
    if (trLimit) say(`  transfers:    ${Math.floor(trLimit.perBlock)} per block, ${trLimit.perSecond} per second`);
    const byLength = [];
    if (jobs) byLength.push(`${Math.floor(limits.normalLength / jobs.avgLength)} jobs (${Math.round(jobs.avgLength)} B each)`);
    if (transfers) byLength.push(`${Math.floor(limits.normalLength / transfers.avgLength)} transfers (${Math.round(transfers.avgLength)} B each)`);
    say(`  block length allows ${byLength.join(', ')} per block`);
  } else {
    say('weights: nothing measured');
  }
  say();
  if (ts) say(`transfer blocks:\n${blockTable(ts, 'transfers', limits)}`);
  if (js) say(`job blocks:\n${blockTable(js, 'matched', limits)}`);
  say(`(mandatory = the block's mandatory-class weight as a share of the whole block: inherents, base block, on_initialize, e.g. the market's deadlines)`);
  process.stdout.write(`${out.join('\n')}\n`);

  if (JSON_OUT) {
    const strip = (s) => s && { ...s, rows: s.rows.map(({ records, failures, ...row }) => row), records: undefined };
    const report = {
      date: new Date().toISOString(),
      node: { binary: NODE_BINARY, version: version.toString(), chain: chain.toString(), runtime: `${runtime.specName}/${runtime.specVersion}` },
      config: { offers: OFFERS, jobs: JOBS, transfers: TRANSFERS, requesters: requesterCount, providers: providers.length, slotsPerOffer: SLOTS_PER_OFFER, gate: GATE, slotMs },
      limits,
      book: { offersPosted: posted, inBook: bookKeys, slots: totalSlots, priceMin: OFFER_PRICE_MIN, priceMax: OFFER_PRICE_MAX, setupSeconds },
      jobs: js && { ...strip(js), refused: jobs.refused, missing: jobs.missing, failures: Object.fromEntries(jobs.failures), declared: jobDeclared.weight.toJSON(), actual: wJob },
      transfers: ts && { ...strip(ts), refused: transfers.refused, missing: transfers.missing, failures: Object.fromEntries(transfers.failures), declared: transferDeclared.weight.toJSON(), actual: wTr },
      ratios,
      atLimit: { jobs: jobLimit, transfers: trLimit },
      weightsNote,
    };
    writeFileSync(JSON_OUT, JSON.stringify(report, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
    log(`report written to ${JSON_OUT}`);
  }
  const failedCount = (r) => (r ? [...r.failures.values()].reduce((a, b) => a + b, 0) + r.refused + r.missing : 0);
  return failedCount(jobs) + failedCount(transfers) > 0 ? 2 : 0;
}

main()
  .then(async (code) => {
    await api?.disconnect();
    process.exit(code);
  })
  .catch(async (e) => {
    log(`error: ${e?.stack ?? e}`);
    try { await api?.disconnect(); } catch { /* gone already */ }
    process.exit(1);
  });
