// The requester of scripts/soak: submits WASM jobs (stratus-kernels' SHA-256 job) at a steady
// rate under every verification policy in turn, follows the finalized chain block by block, and
// at the end checks what the soak promises (docs/reliability.md, "A soak under faults"): every
// job ended and settled on the right digest, each job's escrow was paid out or refunded to the
// planck, money is conserved over all accounts, no honest provider was slashed; with an upgrade
// (SOAK_UPGRADE_AT), the runtime upgraded by sudo with jobs in flight, its migration checked.
//
// scripts/soak starts the network, the workers and this driver, and injects the faults; this
// driver only reconnects (its endpoints are the RPC node and a validator: @polkadot/api's
// WsProvider moves to the next one when its node goes away). It is not a `node --test` file: it
// prints its report on stdout and to $SOAK_DIR/driver.report, and its checks to
// $SOAK_DIR/driver.json.
//
// Environment (all set by scripts/soak):
//   SOAK_ENDPOINTS      comma-separated ws:// endpoints, the RPC node first
//   SOAK_SECONDS        the submission window, seconds
//   SOAK_INTERVAL       seconds between two submissions
//   SOAK_SEED           the seed of the jobs' inputs
//   SOAK_KERNEL         the SHA-256 job (stratus_kernels.wasm)
//   SOAK_REGIONS        the workers' regions (comma-separated): jobs are for them only
//   SOAK_DIR            where driver.started, driver.report and driver.json go
//   SOAK_DRAIN_SECONDS  how long to wait for the jobs in flight after the window (bounded)
//   SOAK_UPGRADE_AT     (optional) seconds into the window to upgrade the runtime at ...
//   SOAK_RUNTIME_WASM   ... to this runtime (the current build's compact compressed WASM)
//   SOAK_UPGRADE_SPEC   ... which must then report this spec_version (112)
//   SOAK_PRE_UPGRADE    (optional) a shell command run just before the upgrade is sent, with
//                       STRATUS_WS set to the RPC node (e.g. scripts/try-upgrade --uri "$STRATUS_WS");
//                       its exit status is a check, its output goes to $SOAK_DIR/pre-upgrade.log
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { Metadata, TypeRegistry } from '@polkadot/types';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady, xxhashAsHex } from '@polkadot/util-crypto';
import { expectedOutput, kernelInput, send, sleep, withCustomSection } from './lib.mjs';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} must be set`);
  return value;
};
const ENDPOINTS = env('SOAK_ENDPOINTS').split(',');
const WINDOW_S = Number(env('SOAK_SECONDS'));
const INTERVAL_S = Number(env('SOAK_INTERVAL', '10'));
const SEED = Number(env('SOAK_SEED', '1'));
const KERNEL = env('SOAK_KERNEL');
const REGIONS = env('SOAK_REGIONS').split(',').map(Number);
const DIR = env('SOAK_DIR');
const DRAIN_S = Number(env('SOAK_DRAIN_SECONDS', '660'));
const UPGRADE_AT = process.env.SOAK_UPGRADE_AT ? Number(process.env.SOAK_UPGRADE_AT) : null;
const RUNTIME_WASM = process.env.SOAK_RUNTIME_WASM;
const UPGRADE_SPEC = Number(process.env.SOAK_UPGRADE_SPEC ?? '0');
const PRE_UPGRADE = process.env.SOAK_PRE_UPGRADE || null;

const UNIT = 10n ** 12n;
// Every price the workers ask is at most this (1000, 1100, 1200 planck per unit).
const MAX_PRICE = 1500n;
const MAX_UNITS = 200_000_000n;
// Blocks: 40 from acknowledgement to commit (a killed worker restarts well within it), 200 to the
// job's deadline (what bounds the drain).
const COMMIT_WINDOW = 40;
const DEADLINE_BLOCKS = 200;
// Replicated(2..3) and Adaptive: every policy, with three providers (Replicated(3) needs all of them).
const POLICIES = ['Unverified', { Replicated: 2 }, 'Adaptive', { Replicated: 3 }];
const policyName = (p) => (typeof p === 'string' ? p : `Replicated(${p.Replicated})`);
const ENDED = ['JobSettled', 'JobExpired', 'JobDisputed', 'JobCancelled'];

const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s`;
const note = (...args) => console.error(`[soak driver ${stamp()}]`, ...args);

/// A seeded generator (mulberry32): the same seed, the same jobs.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(SEED);
const randomBytes = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

function timeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/// `fn()` under a timeout, again until it answers (the node may be restarting or paused).
async function retry(what, fn, { tries = 60, ms = 20_000 } = {}) {
  for (let i = 1; ; i++) {
    try {
      return await timeout(fn(), ms, what);
    } catch (e) {
      if (i >= tries) throw e;
      if (i === 1 || i % 10 === 0) note(`${what}: ${e.message}; trying again`);
      await sleep(1000);
    }
  }
}

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

// ---------------------------------------------------------------------------------------------
// Connection.

await cryptoWaitReady();
const provider = new WsProvider(ENDPOINTS, 1000, {}, 30_000);
let reconnects = 0;
let connectedOnce = false;
provider.on('connected', () => {
  if (connectedOnce) {
    reconnects++;
    note(`connected again, to ${provider.endpoint}`);
  }
  connectedOnce = true;
});
provider.on('disconnected', () => note(`disconnected from ${provider.endpoint}`));
provider.on('error', () => {});
const api = await ApiPromise.create({ provider, noInitWarn: true, throwOnConnect: true });
const raw = (method, params) => retry(method, () => provider.send(method, params));
const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
const alice = keyring.addFromUri('//Alice');
const requester = keyring.addFromUri(`//Soak/requester/${SEED}/${Date.now()}`);
const requesterHex = u8aToHex(requester.publicKey);

// ---------------------------------------------------------------------------------------------
// What the chain says: every finalized block from `base` on, events read at that block.

const state = {
  base: 0,
  scanned: 0,
  jobs: new Map(), // job id -> { id, policy, nonce, sentAt, block, ts, escrow, digest, end }
  sent: new Map(), // extrinsic hash -> { nonce, policy, sentAt, digest, job }
  fees: 0n,
  burned: 0n,
  dust: 0n,
  offences: [],
  slashes: [],
  missed: [],
  declined: 0,
  declinedJobs: new Map(), // job id -> replicas declined
  referees: 0,
  rounds: 0,
  paidTotal: new Map(), // job -> provider payments + fees (ProviderPaid)
  codeUpdatedAt: null,
  reputationUpdated: new Map(), // block -> [provider hex ‖ kind]
  lastTimestamp: 0,
};

// A block's events are read with raw JSON-RPC calls and decoded with the metadata of the runtime
// that built the block (its parent's): @polkadot/api's own queries at a block hash keep the error
// of a call that was in flight when the connection dropped, and give it again to every retry.
const EVENTS_KEY = xxhashAsHex('System', 128) + xxhashAsHex('Events', 128).slice(2);
const NOW_KEY = xxhashAsHex('Timestamp', 128) + xxhashAsHex('Now', 128).slice(2);
const registries = new Map(); // spec version -> TypeRegistry
async function registryOf(parentHash) {
  const { specVersion } = await raw('state_getRuntimeVersion', [parentHash]);
  if (!registries.has(specVersion)) {
    const registry = new TypeRegistry();
    registry.setMetadata(new Metadata(registry, await raw('state_getMetadata', [parentHash])));
    registries.set(specVersion, registry);
  }
  return registries.get(specVersion);
}

async function scanBlock(n) {
  const hash = await raw('chain_getBlockHash', [n]);
  const header = await raw('chain_getHeader', [hash]);
  const registry = await registryOf(header.parentHash);
  const events = registry.createType('Vec<EventRecord>', await raw('state_getStorage', [EVENTS_KEY, hash]));
  const nowBytes = hexToU8a(await raw('state_getStorage', [NOW_KEY, hash]));
  const ts = Number(Buffer.from(nowBytes).readBigUInt64LE(0));
  state.lastTimestamp = ts;
  let block;
  for (const { phase, event } of events) {
    const d = event.data;
    switch (`${event.section}.${event.method}`) {
      case 'market.JobSubmitted': {
        if (u8aToHex(d.requester.toU8a()) !== requesterHex) break;
        block ??= await raw('chain_getBlock', [hash]);
        const ext = block.block.extrinsics[phase.asApplyExtrinsic.toNumber()];
        const sent = state.sent.get(blake2AsHex(hexToU8a(ext), 256));
        const id = d.job.toNumber();
        if (sent) sent.job = id;
        state.jobs.set(id, {
          id, policy: sent ? sent.policy : 'unknown (not sent by this run)',
          sentAt: sent?.sentAt ?? ts, block: n, ts, escrow: d.escrow.toBigInt(), digest: sent?.digest, end: null,
        });
        break;
      }
      case 'market.JobSettled': case 'market.JobExpired': case 'market.JobDisputed': case 'market.JobCancelled': {
        const job = state.jobs.get(d.job.toNumber());
        if (!job) break;
        job.end = {
          kind: event.method, block: n, ts, refunded: d.refunded.toBigInt(),
          paid: event.method === 'JobSettled' ? d.paid.toBigInt() : 0n,
          digest: event.method === 'JobSettled' ? d.digest.toHex() : null,
        };
        break;
      }
      case 'market.ProviderPaid': {
        const job = d.job.toNumber();
        state.paidTotal.set(job, (state.paidTotal.get(job) ?? 0n) + d.amount.toBigInt() + d.fee.toBigInt());
        break;
      }
      case 'market.ReplicaMissed':
        state.missed.push({ block: n, job: d.job.toNumber(), replica: d.replica.toNumber(), provider: d.provider.toString(), missed: d.missed.toString() });
        break;
      case 'market.ReplicaDeclined': {
        state.declined++;
        const job = d.job.toNumber();
        state.declinedJobs.set(job, (state.declinedJobs.get(job) ?? 0) + 1);
        break;
      }
      case 'market.RefereesCalled': state.referees++; break;
      case 'market.RoundStarted': state.rounds++; break;
      case 'transactionPayment.TransactionFeePaid': state.fees += d.actualFee.toBigInt(); break;
      case 'balances.DustLost': state.dust += d.amount.toBigInt(); break;
      case 'balances.Burned': state.burned += d.amount.toBigInt(); break;
      case 'slashing.OffenceReported':
        state.offences.push({ block: n, provider: d.provider.toString(), job: d.job.toNumber(), replica: d.replica.toNumber(), offence: d.offence.toString() });
        break;
      case 'slashing.SlashDeferred': case 'slashing.SlashApplied':
        state.slashes.push({ block: n, event: event.method, provider: d.provider.toString(), amount: d.amount.toBigInt() });
        break;
      case 'system.CodeUpdated': state.codeUpdatedAt = n; break;
      case 'reputation.ReputationUpdated': {
        const list = state.reputationUpdated.get(n) ?? [];
        list.push(`${u8aToHex(d.provider.toU8a())}:${d.kind.index}`);
        state.reputationUpdated.set(n, list);
        break;
      }
      default:
    }
  }
}

let scanning = true;
let onScanned = () => {};
async function scanner() {
  while (scanning) {
    try {
      const head = await raw('chain_getFinalizedHead', []);
      const header = await raw('chain_getHeader', [head]);
      const finalized = Number(header.number);
      while (state.scanned < finalized) {
        await scanBlock(state.scanned + 1);
        state.scanned++;
        await onScanned(state.scanned);
      }
    } catch (e) {
      note(`following the chain: ${e.message}`);
    }
    await sleep(1000);
  }
}

async function finalizedNumber() {
  const head = await raw('chain_getFinalizedHead', []);
  return Number((await raw('chain_getHeader', [head])).number);
}

// ---------------------------------------------------------------------------------------------
// The upgrade: sudo(system.setCode) with jobs in flight, then the migration's checks.

const upgrade = { sent: false, error: null, block: null, checks: null, inFlight: [], pre: null };

/// The pre-upgrade command (SOAK_PRE_UPGRADE) against the running network, with STRATUS_WS one of
/// its endpoints; resolves to its status. Exit status 2 is stratus-try-upgrade's "could not load
/// the state" (a node restarting or paused by a fault): tried again on the next endpoint, up to
/// six times, 10 s apart. Any other status is the check's verdict.
function preUpgradeOnce(endpoint) {
  return new Promise((resolve) => {
    const log = fs.openSync(path.join(DIR, 'pre-upgrade.log'), 'a');
    note(`before the upgrade: ${PRE_UPGRADE} (STRATUS_WS=${endpoint})`);
    const child = spawn('bash', ['-c', PRE_UPGRADE], { env: { ...process.env, STRATUS_WS: endpoint }, stdio: ['ignore', log, log] });
    child.on('exit', (code, signal) => resolve(code ?? signal));
    child.on('error', (e) => resolve(e.message));
  });
}
async function preUpgrade() {
  let status;
  for (let attempt = 0; attempt < 6; attempt++) {
    status = await preUpgradeOnce(ENDPOINTS[attempt % ENDPOINTS.length]);
    if (status !== 2) return status;
    await sleep(10_000);
  }
  return status;
}
const REPUTATION_PREFIX = xxhashAsHex('Reputation', 128) + xxhashAsHex('Reputations', 128).slice(2);
const REPUTATION_VERSION_KEY = xxhashAsHex('Reputation', 128) + xxhashAsHex(':__STORAGE_VERSION__:', 128).slice(2);

/// Every reputation record at block `hash`, raw: key (after the prefix) -> bytes.
async function reputationRecords(hash) {
  const records = new Map();
  let start = REPUTATION_PREFIX;
  for (;;) {
    const keys = await raw('state_getKeysPaged', [REPUTATION_PREFIX, 1000, start, hash]);
    for (const key of keys) records.set(key.slice(REPUTATION_PREFIX.length), Buffer.from((await raw('state_getStorage', [key, hash])).slice(2), 'hex'));
    if (keys.length < 1000) return records;
    start = keys[keys.length - 1];
  }
}

/// A record's fields (pallet_reputation::math::Record; version 0 without best_streak).
function decodeRecord(bytes) {
  return {
    agreed: bytes.readBigUInt64LE(0), failed: bytes.readBigUInt64LE(8), streak: bytes.readUInt32LE(16),
    updatedAt: bytes.readUInt32LE(20), best: bytes.length >= 28 ? bytes.readUInt32LE(24) : null, len: bytes.length,
  };
}

/// The provider ‖ kind of a record key (after the prefix): blake2_128 ‖ account ‖ twox64 ‖ kind.
const recordOwner = (key) => `0x${key.slice(32, 96)}:${parseInt(key.slice(112, 114), 16)}`;

async function sendUpgrade() {
  if (PRE_UPGRADE) {
    upgrade.pre = await preUpgrade();
    note(`the pre-upgrade command exited with ${upgrade.pre}`);
  }
  const wasm = fs.readFileSync(RUNTIME_WASM);
  const before = await raw('state_getRuntimeVersion', []);
  note(`upgrading the runtime from spec ${before.specVersion} to ${RUNTIME_WASM} (${wasm.length} bytes) with sudo`);
  const inFlight = [...state.jobs.values()].filter((j) => !j.end).map((j) => j.id);
  for (let attempt = 1; ; attempt++) {
    try {
      const call = api.tx.system.setCode(u8aToHex(wasm));
      const tx = api.tx.sudo.sudoUncheckedWeight(call, { refTime: 0, proofSize: 0 });
      const { events } = await timeout(send(api, tx, alice), 120_000, 'sudo(system.setCode)');
      const sudid = events.find(({ event: e }) => e.section === 'sudo' && e.method === 'Sudid');
      if (!sudid || sudid.event.data.sudoResult.isErr) throw new Error(`sudo did not dispatch setCode: ${sudid?.event.data.sudoResult.toString()}`);
      upgrade.sent = true;
      upgrade.inFlightAtSend = inFlight;
      note(`setCode is in a block (${inFlight.length} job(s) of this run not ended when it was sent)`);
      return;
    } catch (e) {
      const now = await raw('state_getRuntimeVersion', []).catch(() => before);
      if (now.specVersion !== before.specVersion) { upgrade.sent = true; upgrade.inFlightAtSend = inFlight; return; }
      if (attempt === 3) { upgrade.error = e.message; note(`the upgrade failed: ${e.message}`); return; }
      note(`the upgrade: ${e.message}; sending again`);
      await sleep(3000);
    }
  }
}

/// Runs once the block after the one with `CodeUpdated` (N) is scanned: N + 1 ran the migration.
async function checkUpgrade(n) {
  const hashN = await raw('chain_getBlockHash', [n]);
  const hashNext = await raw('chain_getBlockHash', [n + 1]);
  const hashPrev = await raw('chain_getBlockHash', [n - 1]);
  const specPrev = (await raw('state_getRuntimeVersion', [hashPrev])).specVersion;
  const specNext = (await raw('state_getRuntimeVersion', [hashNext])).specVersion;
  const versionN = await raw('state_getStorage', [REPUTATION_VERSION_KEY, hashN]);
  const versionNext = await raw('state_getStorage', [REPUTATION_VERSION_KEY, hashNext]);
  const before = await reputationRecords(hashN);
  const after = await reputationRecords(hashNext);
  const touched = new Set(state.reputationUpdated.get(n + 1) ?? []);
  const problems = [];
  let exact = 0;
  for (const [key, bytes] of before) {
    const old = decodeRecord(bytes);
    if (old.len !== 24) problems.push(`${recordOwner(key)}: ${old.len} bytes before the upgrade, not a version-0 record's 24`);
    const now = after.get(key);
    if (!now) { problems.push(`${recordOwner(key)}: the record is gone after the upgrade`); continue; }
    const rec = decodeRecord(now);
    if (rec.len !== 28) { problems.push(`${recordOwner(key)}: ${rec.len} bytes after the upgrade, not a version-1 record's 28`); continue; }
    if (touched.has(recordOwner(key))) {
      // Updated again in the migration's own block (a job settled in it): the migration's result
      // is not observable on its own, only that the run it started from was kept as the best.
      if (rec.best < old.streak) problems.push(`${recordOwner(key)}: best run ${rec.best} below the run ${old.streak} at the upgrade`);
    } else {
      exact++;
      if (rec.agreed !== old.agreed || rec.failed !== old.failed || rec.streak !== old.streak || rec.updatedAt !== old.updatedAt) {
        problems.push(`${recordOwner(key)}: counts changed in the migration (${JSON.stringify({ ...old, agreed: `${old.agreed}`, failed: `${old.failed}` })} -> ${JSON.stringify({ ...rec, agreed: `${rec.agreed}`, failed: `${rec.failed}` })})`);
      }
      if (rec.best !== old.streak) problems.push(`${recordOwner(key)}: best_streak ${rec.best}, its run at the upgrade was ${old.streak}`);
    }
  }
  upgrade.checks = {
    block: n, specPrev, specNext, versionN, versionNext, records: before.size, recordsAfter: after.size,
    exact, touched: before.size - exact, problems,
    inFlight: [...state.jobs.values()].filter((j) => j.block <= n && (!j.end || j.end.block > n)).map((j) => j.id),
  };
  note(`upgrade enacted in block ${n}: spec ${specPrev} -> ${specNext}, reputation storage version ${versionN} -> ${versionNext}, ${before.size} record(s), ${problems.length} problem(s)`);
}

onScanned = async (n) => {
  if (state.codeUpdatedAt !== null && upgrade.block === null && n === state.codeUpdatedAt + 1) {
    upgrade.block = state.codeUpdatedAt;
    try {
      await checkUpgrade(state.codeUpdatedAt);
    } catch (e) {
      upgrade.checks = { problems: [`the upgrade checks could not read the chain: ${e.message}`] };
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Set-up: the requester funded by Alice, the SHA-256 kernel registered as a program of this run.

note(`connected to ${provider.endpoint}; requester ${requester.address}`);
await retry('funding the requester', () => send(api, api.tx.balances.transferKeepAlive(requester.address, 1_000n * UNIT), alice), { tries: 3, ms: 120_000 });
const code = withCustomSection(fs.readFileSync(KERNEL), 'soak', 16);
const program = blake2AsHex(code, 256);
await retry('registering the program', () => send(api, api.tx.market.registerProgram('Wasm', u8aToHex(code)), requester), { tries: 3, ms: 120_000 });
note(`program ${program} registered`);

// Conservation is checked from here: the issuance now, and every block's events after.
state.base = await finalizedNumber();
state.scanned = state.base;
const baseHash = await raw('chain_getBlockHash', [state.base]);
const issuanceBase = (await (await api.at(baseHash)).query.balances.totalIssuance()).toBigInt();
const scanning$ = scanner();

// ---------------------------------------------------------------------------------------------
// The submission window.

const windowStart = Date.now();
fs.writeFileSync(path.join(DIR, 'driver.started'), `${Math.floor(windowStart / 1000)}\n`);
note(`submitting a job every ${INTERVAL_S} s for ${WINDOW_S} s (seed ${SEED}); policies ${POLICIES.map(policyName).join(', ')}`);
let upgrade$ = null;
let sentCount = 0;
let refused = [];
for (let i = 0; ; i++) {
  const due = windowStart + i * INTERVAL_S * 1000;
  if (due > windowStart + WINDOW_S * 1000) break;
  if (UPGRADE_AT !== null && !upgrade$ && due >= windowStart + UPGRADE_AT * 1000) upgrade$ = sendUpgrade();
  await sleep(Math.max(0, due - Date.now()));
  const policy = POLICIES[i % POLICIES.length];
  const rounds = 1 + Math.floor(random() * 200);
  const data = randomBytes(64 + Math.floor(random() * 448));
  const digest = blake2AsHex(expectedOutput(rounds, data), 256);
  try {
    await retry(`submitting job ${i}`, async () => {
      const best = Number((await raw('chain_getHeader', [])).number);
      const spec = {
        program,
        input: { Inline: u8aToHex(kernelInput(rounds, data)) },
        requirements: {
          minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: REGIONS,
          regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0, minReputation: 0,
        },
        maxPrice: MAX_PRICE,
        maxUnits: MAX_UNITS,
        policy,
        commitWindow: COMMIT_WINDOW,
        deadline: best + DEADLINE_BLOCKS,
        maxOutputBytes: 1024,
      };
      const nonce = await api.rpc.system.accountNextIndex(requester.address);
      const tx = await api.tx.market.submitJob(spec).signAsync(requester, { nonce });
      state.sent.set(tx.hash.toHex(), { nonce: nonce.toNumber(), policy: policyName(policy), sentAt: Date.now(), digest, job: null });
      await api.rpc.author.submitExtrinsic(tx);
    }, { tries: 3 });
    sentCount++;
    if (sentCount % 5 === 0) {
      const all = [...state.jobs.values()];
      note(`${sentCount} job(s) sent, ${all.length} on chain, ${all.filter((j) => j.end).length} ended; block ${state.scanned} scanned`);
    }
  } catch (e) {
    refused.push(`job ${i} (${policyName(policy)}): ${e.message}`);
    note(`job ${i} was not sent: ${e.message}`);
  }
}
const windowEnd = Date.now();
note(`submission window over: ${sentCount} job(s) sent; waiting (at most ${DRAIN_S} s) for every job to end`);
if (upgrade$) await upgrade$;

// ---------------------------------------------------------------------------------------------
// The drain: every job on chain ends, and every sent submission is on chain or dropped (its
// nonce used by another transaction).

const drainUntil = Date.now() + DRAIN_S * 1000;
let lastProgress = Date.now();
let lastNonce = Math.max(-1, ...[...state.sent.values()].map((s) => s.nonce));
for (;;) {
  const finalized = await finalizedNumber().catch(() => 0);
  const caughtUp = state.scanned >= finalized - 1;
  const pending = [...state.jobs.values()].filter((j) => !j.end);
  let noncesUsed = false;
  try {
    const head = await raw('chain_getFinalizedHead', []);
    const account = await (await api.at(head)).query.system.account(requester.address);
    noncesUsed = account.nonce.toNumber() > lastNonce;
  } catch { /* the node is away: next round */ }
  const upgradeDone = UPGRADE_AT === null || (upgrade.checks !== null) || upgrade.error !== null;
  if (caughtUp && pending.length === 0 && (noncesUsed || Date.now() - windowEnd > 120_000) && upgradeDone) break;
  if (Date.now() - lastProgress > 30_000) {
    lastProgress = Date.now();
    note(`draining: ${pending.length} job(s) not ended (${pending.slice(0, 12).map((j) => `${j.id} ${j.policy}`).join(', ')}), block ${state.scanned} of ${finalized} finalized`);
  }
  if (Date.now() > drainUntil) {
    note(`the drain's ${DRAIN_S} s are over with ${pending.length} job(s) not ended: ${pending.map((j) => j.id).join(', ')}`);
    break;
  }
  await sleep(3000);
}
scanning = false;
await scanning$;

// ---------------------------------------------------------------------------------------------
// The checks, at the last scanned (finalized) block.

const endHash = await raw('chain_getBlockHash', [state.scanned]);
const atEnd = await api.at(endHash);
const checks = [];
const check = (name, ok, detail = '') => checks.push({ name, ok: Boolean(ok), detail });
const out = [];
const line = (s = '') => out.push(s);

const jobs = [...state.jobs.values()];
const byPolicy = new Map();
for (const j of jobs) {
  const p = byPolicy.get(j.policy) ?? { submitted: 0, settled: 0, expired: 0, disputed: 0, open: 0, secs: [], blocks: [] };
  p.submitted++;
  if (!j.end) p.open++;
  else if (j.end.kind === 'JobSettled') {
    p.settled++;
    p.secs.push((j.end.ts - j.sentAt) / 1000);
    p.blocks.push(j.end.block - j.block);
  } else if (j.end.kind === 'JobExpired') p.expired++;
  else if (j.end.kind === 'JobDisputed') p.disputed++;
  byPolicy.set(j.policy, p);
}
const settled = jobs.filter((j) => j.end?.kind === 'JobSettled');
const notEnded = jobs.filter((j) => !j.end);
const unsettled = jobs.filter((j) => j.end && j.end.kind !== 'JobSettled');
const secs = settled.map((j) => (j.end.ts - j.sentAt) / 1000).sort((a, b) => a - b);
const blocks = settled.map((j) => j.end.block - j.block).sort((a, b) => a - b);
const lost = [...state.sent.values()].filter((s) => s.job === null);

line(`soak report: seed ${SEED}, a job every ${INTERVAL_S} s for ${WINDOW_S} s, blocks ${state.base + 1}–${state.scanned} (finalized)`);
line(`jobs submitted: ${jobs.length} on chain (${sentCount} sent; ${lost.length} sent but never on chain, ${refused.length} not sent)`);
line(`jobs settled: ${settled.length}; expired ${unsettled.filter((j) => j.end.kind === 'JobExpired').length}; disputed ${unsettled.filter((j) => j.end.kind === 'JobDisputed').length}; did not end: ${notEnded.length}`);
for (const [policy, p] of [...byPolicy].sort()) {
  const s = p.secs.sort((a, b) => a - b);
  const b = p.blocks.sort((a, c) => a - c);
  line(`  ${policy.padEnd(14)} submitted ${String(p.submitted).padStart(4)}, settled ${String(p.settled).padStart(4)}, expired ${p.expired}, disputed ${p.disputed}, not ended ${p.open}; latency p50 ${quantile(s, 0.5).toFixed(1)} s / ${quantile(b, 0.5)} blocks, p95 ${quantile(s, 0.95).toFixed(1)} s / ${quantile(b, 0.95)} blocks`);
}
line(`submit-to-settlement latency: p50 ${quantile(secs, 0.5).toFixed(1)} s / ${quantile(blocks, 0.5)} blocks, p95 ${quantile(secs, 0.95).toFixed(1)} s / ${quantile(blocks, 0.95)} blocks, max ${secs.at(-1)?.toFixed(1)} s / ${blocks.at(-1)} blocks`);
// The slowest jobs, with what happened to their replicas, so that a long tail can be traced in
// the logs (the job's id is in every worker's and node's log line about it).
const slowest = [...settled].sort((a, b) => (b.end.block - b.block) - (a.end.block - a.block)).slice(0, 3);
for (const j of slowest) {
  const missed = state.missed.filter((m) => m.job === j.id).length;
  line(`  slowest: job ${j.id} (${j.policy}) on chain in block ${j.block}, settled in block ${j.end.block}: ${j.end.block - j.block} blocks; replicas missed ${missed}, declined ${state.declinedJobs.get(j.id) ?? 0}`);
}
line(`replicas missed ${state.missed.length}, declined ${state.declined}; referee rounds ${state.referees}; new rounds ${state.rounds}; the requester reconnected ${reconnects} time(s)`);
for (const m of state.missed) line(`  missed: job ${m.job} replica ${m.replica} (${m.missed}) by ${m.provider} in block ${m.block}`);
for (const r of refused) line(`  not sent: ${r}`);

check('jobs were submitted under every policy', POLICIES.every((p) => (byPolicy.get(policyName(p))?.submitted ?? 0) > 0),
  [...byPolicy].map(([p, v]) => `${p} ${v.submitted}`).join(', '));
check('jobs that did not end: 0', notEnded.length === 0, notEnded.map((j) => `job ${j.id} (${j.policy})`).join(', '));
check('every job that ended settled (none expired or disputed)', unsettled.length === 0,
  unsettled.map((j) => `job ${j.id} (${j.policy}) ${j.end.kind}`).join(', '));
const wrong = settled.filter((j) => j.digest && j.end.digest !== j.digest);
check('every settled job settled on the SHA-256 output\'s digest', wrong.length === 0,
  wrong.map((j) => `job ${j.id}: ${j.end.digest}`).join(', '));

// Each job's escrow went out to the planck: to its quorum (ProviderPaid, fees included) and back
// to the requester; nothing of it is still held.
const escrowProblems = [];
for (const j of jobs.filter((x) => x.end)) {
  const paid = state.paidTotal.get(j.id) ?? 0n;
  if (j.end.paid !== paid) escrowProblems.push(`job ${j.id}: JobSettled says ${j.end.paid} paid, ProviderPaid add up to ${paid}`);
  if (paid + j.end.refunded !== j.escrow) escrowProblems.push(`job ${j.id}: escrow ${j.escrow}, paid ${paid} + refunded ${j.end.refunded}`);
}
const holds = await atEnd.query.balances.holds(requester.address);
const escrowHeld = holds.filter((h) => JSON.stringify(h.id.toJSON()).includes('JobEscrow')).reduce((s, h) => s + h.amount.toBigInt(), 0n);
if (notEnded.length === 0 && escrowHeld !== 0n) escrowProblems.push(`the requester still has ${escrowHeld} planck held as escrow`);
const escrowTotal = jobs.reduce((s, j) => s + j.escrow, 0n);
const paidOut = jobs.reduce((s, j) => s + (j.end?.paid ?? 0n), 0n);
const refundedTotal = jobs.reduce((s, j) => s + (j.end?.refunded ?? 0n), 0n);
line(`escrow: ${escrowTotal} planck held over the run, ${paidOut} paid to providers (fees included), ${refundedTotal} refunded, ${escrowHeld} still held`);
check('every job\'s escrow paid out or refunded to the planck, none left held', escrowProblems.length === 0, escrowProblems.slice(0, 5).join('; '));

// Money over all accounts at the last block, and the issuance's change since the base block.
const accounts = await atEnd.query.system.account.entries();
let sum = 0n;
for (const [, info] of accounts) sum += info.data.free.toBigInt() + info.data.reserved.toBigInt();
const issuance = (await atEnd.query.balances.totalIssuance()).toBigInt();
const expectedIssuance = issuanceBase - state.fees - state.burned - state.dust;
line(`money: ${accounts.length} accounts hold ${sum} planck (free + reserved); total issuance ${issuance}`);
line(`issuance: ${issuanceBase} at block ${state.base}, less fees burned ${state.fees}, burns ${state.burned}, dust ${state.dust} = ${expectedIssuance}`);
check('money conservation: the accounts sum to the total issuance exactly', sum === issuance, `difference ${sum - issuance}`);
check('the issuance changed by exactly the fees, burns and dust', issuance === expectedIssuance, `difference ${issuance - expectedIssuance}`);

// Slashing: every provider is honest.
line(`offences reported: ${state.offences.length}; slashes deferred or applied: ${state.slashes.length}`);
for (const o of state.offences) line(`  offence: ${o.offence} by ${o.provider} (job ${o.job} replica ${o.replica}, block ${o.block})`);
check('honest providers slashed: 0 (no offence reported, no slash deferred or applied)', state.slashes.length === 0 && state.offences.length === 0,
  [...state.offences.map((o) => `${o.offence} by ${o.provider} on job ${o.job}`), ...state.slashes.map((s) => `${s.event} ${s.amount} of ${s.provider}`)].join(', '));

// The upgrade.
if (UPGRADE_AT !== null) {
  const c = upgrade.checks;
  if (PRE_UPGRADE) check(`the pre-upgrade command passed (${PRE_UPGRADE})`, upgrade.pre === 0, `exit ${upgrade.pre}; see ${path.join(DIR, 'pre-upgrade.log')}`);
  if (!upgrade.sent || !c) {
    check('the runtime upgrade was enacted', false, upgrade.error ?? 'no CodeUpdated event seen');
  } else {
    line(`upgrade: setCode enacted in block ${c.block}; spec ${c.specPrev} -> ${c.specNext}; reputation storage version ${c.versionN ?? 'none'} -> ${c.versionNext}; ${c.records} record(s) before, ${c.recordsAfter} after (${c.exact} compared exactly, ${c.touched} also updated in the migration's block)`);
    const finalSpec = (await raw('state_getRuntimeVersion', [endHash])).specVersion;
    check(`the spec version became ${UPGRADE_SPEC}`, c.specNext === UPGRADE_SPEC && finalSpec === UPGRADE_SPEC && c.specPrev < UPGRADE_SPEC,
      `before ${c.specPrev}, after ${c.specNext}, at the end ${finalSpec}`);
    check('the reputation pallet\'s on-chain storage version is 1', c.versionNext === '0x0100' && (c.versionN === null || c.versionN === '0x0000'),
      `before ${c.versionN}, after ${c.versionNext}`);
    check('the migration had records to migrate', c.records > 0, `${c.records}`);
    check('every reputation record kept its counts, best_streak = its run at the upgrade', c.problems.length === 0, c.problems.slice(0, 5).join('; '));
    const inFlight = c.inFlight.map((id) => state.jobs.get(id));
    const notSettled = inFlight.filter((j) => j.end?.kind !== 'JobSettled');
    line(`jobs in flight across the upgrade: ${inFlight.length}; settled ${inFlight.length - notSettled.length}`);
    check('every job in flight at the upgrade settled', inFlight.length > 0 && notSettled.length === 0,
      `${inFlight.length} in flight; not settled: ${notSettled.map((j) => `job ${j.id} ${j.end?.kind ?? 'open'}`).join(', ')}`);
    const after = jobs.filter((j) => j.block > c.block + 1);
    check('jobs submitted after the upgrade settled', after.length > 0 && after.every((j) => j.end?.kind === 'JobSettled'),
      `${after.length} submitted after, ${after.filter((j) => j.end?.kind === 'JobSettled').length} settled`);
  }
}

const passed = checks.filter((c) => c.ok).length;
for (const c of checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail && !c.ok ? `: ${c.detail}` : ''}`);
for (const l of out) console.log(l);
fs.writeFileSync(path.join(DIR, 'driver.report'), `${out.join('\n')}\n`);
fs.writeFileSync(path.join(DIR, 'driver.json'), JSON.stringify({
  passed, failed: checks.length - passed, checks,
  figures: {
    submitted: jobs.length, settled: settled.length, notEnded: notEnded.length,
    p50s: quantile(secs, 0.5), p95s: quantile(secs, 0.95), p50b: quantile(blocks, 0.5), p95b: quantile(blocks, 0.95),
  },
}, null, 2));
await api.disconnect().catch(() => {});
process.exit(0);
