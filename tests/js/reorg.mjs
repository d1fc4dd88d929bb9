// The reorg test's driver (scripts/reorg starts the network and the worker): a real reorg on the
// four-validator network, and the worker's rules on it (docs/provider-guide.md, "Reorgs").
//
// The nodes peer only with each other as reserved peers, so the driver can cut the network in
// two with system_removeReservedPeer: {dave, rpc} against {alice, bob, charlie}. The worker
// follows the RPC node only, so it lives on the minority side, whose chain (dave authors one
// slot in four and cannot finalize) is retracted when the network is healed and the nodes
// import the majority's longer, finalized chain.
//
//   job C  posted before the cut, long enough to be acknowledged on the common chain and
//          computed after the cut: its commit and reveal land on the minority's chain only,
//          where C even settles. While that settlement is not final the worker does not serve
//          C's output. After the heal the worker commits C again with the same commitment and
//          salt, once: C settles on the final chain and its output is served.
//   job A  posted on the minority side during the cut; job B, by another requester, on the
//          majority side: both get the same id. After the heal that id is B's: the worker drops
//          A's record and runs B afresh; A, back in the pool, is posted again under the next
//          id and run again. Both settle on the final chain with their own outputs.
//
// Prints each check and `reorg: N passed, M failed`; exits non-zero when a check failed.
// Environment: REORG_NODES (JSON: node name -> ws URL), REORG_RESULTS (the worker's results
// URL), REORG_KERNEL (the SHA-256 kernel), REORG_REGION (the worker's region), REORG_WORKER_LOG.

import fs from 'node:fs';
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady, randomAsU8a } from '@polkadot/util-crypto';
import {
  downloadHeaders, downloadWith, eventData, expectedOutput, kernelInput, send, waitFor,
  withCustomSection,
} from './lib.mjs';

const NODES = JSON.parse(process.env.REORG_NODES);
const RESULTS = process.env.REORG_RESULTS;
const REGION = Number(process.env.REORG_REGION);
const WORKER_LOG = process.env.REORG_WORKER_LOG;
const UNIT = 10n ** 12n;
const MINORITY = ['dave', 'rpc'];
const MAJORITY = ['alice', 'bob', 'charlie'];

let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
}
const say = (text) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

await cryptoWaitReady();
const apis = {};
const providers = {};
for (const [name, url] of Object.entries(NODES)) {
  providers[name] = new WsProvider(url);
  apis[name] = await ApiPromise.create({ provider: providers[name], noInitWarn: true });
}
const rpc = apis.rpc;
const alice = apis.alice;
const keyring = new Keyring({ type: 'sr25519', ss58Format: alice.registry.chainSS58 });
const sudo = keyring.addFromUri('//Alice');
const first = keyring.addFromUri(`//Reorg/first/${u8aToHex(randomAsU8a(4))}`);
const second = keyring.addFromUri(`//Reorg/second/${u8aToHex(randomAsU8a(4))}`);
const genesis = alice.genesisHash.toHex();

const best = async (api) => (await api.rpc.chain.getHeader()).number.toNumber();
const finalizedNumber = async (api) => (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
const jobAt = async (api, job, hash) => {
  const at = hash ? await api.at(hash) : api;
  const record = await at.query.market.jobs(job);
  return record.isSome ? record.unwrap() : undefined;
};
/// `market_jobStatus` of `job` at node `name` (at block `hash`, or its best).
const statusOf = async (name, job, hash) => (await providers[name].send('market_jobStatus', hash ? [job, hash.toHex()] : [job])) ?? undefined;

/// Cuts the reserved-peer links between the two sides (both directions), and waits until no
/// node of one side has a peer on the other.
async function cut() {
  const ids = {};
  for (const name of Object.keys(apis)) ids[name] = (await apis[name].rpc.system.localPeerId()).toString();
  for (const a of MINORITY) {
    for (const b of MAJORITY) {
      await apis[a].rpc.system.removeReservedPeer(ids[b]);
      await apis[b].rpc.system.removeReservedPeer(ids[a]);
    }
  }
  await waitFor('the two sides to lose each other', async () => {
    for (const a of MINORITY) {
      const peers = (await apis[a].rpc.system.peers()).map((p) => p.peerId.toString());
      if (peers.some((p) => MAJORITY.some((b) => ids[b] === p))) return undefined;
    }
    return true;
  }, 30_000, { everyMs: 500 });
}

async function heal() {
  const addrs = JSON.parse(process.env.REORG_ADDRS);
  for (const a of MINORITY) {
    for (const b of MAJORITY) {
      await apis[a].rpc.system.addReservedPeer(addrs[b]);
      await apis[b].rpc.system.addReservedPeer(addrs[a]);
    }
  }
}

function spec(program, input, maxUnits, commitWindow = 100) {
  return {
    program,
    input: { Inline: u8aToHex(input) },
    requirements: {
      minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [REGION],
      regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0,
    },
    maxPrice: 2000,
    maxUnits,
    policy: 'Unverified',
    commitWindow,
    deadline: 0, // set at submission
    maxOutputBytes: 1024,
  };
}

/// Sends `submitJob` through `api` without waiting (the minority cannot finalize; its blocks
/// come one slot in four): resolves with the job id once it is in a block.
async function post(api, signer, jobSpec) {
  jobSpec.deadline = (await best(api)) + 600;
  const { events } = await send(api, api.tx.market.submitJob(jobSpec), signer);
  return eventData(events, 'market', 'JobSubmitted').job.toNumber();
}

/// The ReplicaCommitted events of `job` in the final chain's blocks `from`..`to`.
async function commitsOnFinalChain(job, from, to) {
  const found = [];
  for (let n = from; n <= to; n += 1) {
    const at = await alice.at(await alice.rpc.chain.getBlockHash(n));
    for (const { event } of await at.query.system.events()) {
      if (event.section === 'verification' && event.method === 'ReplicaCommitted' && event.data.job.toNumber() === job) {
        found.push({ block: n, replica: event.data.replica.toNumber(), commitment: event.data.commitment.toHex() });
      }
    }
  }
  return found;
}

const downloadStatus = async (job, signer) => (await downloadWith(RESULTS, job, downloadHeaders(RESULTS, genesis, job, signer))).status;

// Set-up, on the whole network: two requesters and a program.
for (const who of [first, second]) {
  await send(alice, alice.tx.balances.transferKeepAlive(who.address, 1000n * UNIT), sudo, { finalized: true });
}
const code = withCustomSection(fs.readFileSync(process.env.REORG_KERNEL), 'reorg', 16);
const program = blake2AsHex(code);
await send(alice, alice.tx.market.registerProgram('Wasm', u8aToHex(code)), first, { finalized: true });
say(`requesters funded, program ${program.slice(0, 10)}… registered`);

// Job C: about 25 s of hashing (4 GB), long enough to be acknowledged and finalized before the
// cut (the worker acknowledges a job still running a block after its match) and committed after.
const big = randomAsU8a(1 << 15);
const roundsC = 120_000;
const jobC = await post(alice, first, spec(program, kernelInput(roundsC, big), 400_000_000_000, 100));
say(`job ${jobC} (C) posted on the whole network`);
await waitFor(`job ${jobC} to be acknowledged in a finalized block`, async () => {
  const head = await alice.rpc.chain.getFinalizedHead();
  return (await statusOf('alice', jobC, head))?.replicas?.[0]?.state === 'Acknowledged' || undefined;
}, 60_000, { everyMs: 500 });
const finalBeforeCut = await finalizedNumber(alice);
await cut();
say(`cut: {${MINORITY}} | {${MAJORITY}}, from the final block #${finalBeforeCut}`);

// C is computed now, on the minority side only.
const minorityCommit = await waitFor(`job ${jobC}'s commit on the minority chain`, async () => {
  const c = await rpc.query.verification.commitments(jobC, 0);
  return c.isSome ? c.unwrap().toHex() : undefined;
}, 120_000, { everyMs: 500 });
check(!(await alice.query.verification.commitments(jobC, 0)).isSome, `job ${jobC}'s commit is on the minority's chain only`);
// A on the minority, B on the majority: the same id.
const inputA = kernelInput(2, new TextEncoder().encode('reorg: job A '));
const inputB = kernelInput(3, new TextEncoder().encode('reorg: job B, another requester '));
const [jobA, jobB] = await Promise.all([
  post(rpc, first, spec(program, inputA, 200_000_000)),
  post(alice, second, spec(program, inputB, 200_000_000)),
]);
check(jobA === jobB, `jobs A and B have the same id on their sides (${jobA}, ${jobB})`);
// The minority settles C (its reveal opens at once: unverified), which is not final there.
await waitFor(`job ${jobC} to settle on the minority chain`, async () => (await statusOf('rpc', jobC))?.phase?.Settled ? true : undefined, 90_000, { everyMs: 500 });
say(`job ${jobC} settled on the minority chain (final block there: #${await finalizedNumber(rpc)})`);
check(await downloadStatus(jobC, first) === 404, `job ${jobC}'s output is not served while its settlement is not final`);
await waitFor(`the worker to take job ${jobA} (A) on`, async () => {
  const s = await statusOf('rpc', jobA);
  return s?.replicas?.[0] && s.replicas[0].state !== 'Assigned' ? true : undefined;
}, 60_000, { everyMs: 500 }).catch(() => say(`job ${jobA} not taken on before the heal (the minority's slots are sparse)`));

// Heal: the minority imports the majority's longer, finalized chain.
const minorityBest = await best(rpc);
await heal();
say(`healed (the minority's best was #${minorityBest})`);
await waitFor('the RPC node to follow the final chain', async () => {
  const head = await alice.rpc.chain.getFinalizedHead();
  const n = (await alice.rpc.chain.getHeader(head)).number.toNumber();
  const there = await rpc.rpc.chain.getBlockHash(n);
  return there.eq(head) && (await finalizedNumber(rpc)) > finalBeforeCut ? true : undefined;
}, 90_000, { everyMs: 500 });
const log = () => fs.readFileSync(WORKER_LOG, 'utf8');
await waitFor('the worker to see the reorg', () => /reorg: the best chain left block/.test(log()) || undefined, 60_000, { everyMs: 500 });
check(true, 'the worker saw the reorg');

// After the heal: the id is B's. A comes back under the next id.
const jobA2 = await waitFor('job A to be posted again on the final chain', async () => {
  const next = (await alice.query.market.nextJobId()).toNumber();
  for (let id = jobB + 1; id < next; id += 1) {
    const record = await jobAt(alice, id);
    if (record && record.requester.toString() === first.address) return id;
  }
  return undefined;
}, 120_000, { everyMs: 1000 });
say(`job A is job ${jobA2} on the final chain; job ${jobB} is B`);
const settledFinal = async (job) => waitFor(`job ${job} to settle in a finalized block`, async () => {
  const s = await statusOf('alice', job, await alice.rpc.chain.getFinalizedHead());
  return s?.phase?.Settled ? s : undefined;
}, 180_000, { everyMs: 1000 });
const [finalC, finalB, finalA] = [await settledFinal(jobC), await settledFinal(jobB), await settledFinal(jobA2)];
check(finalC.phase.Settled.digest === blake2AsHex(expectedOutput(roundsC, big)), `job ${jobC} (C) settled on the final chain with its output`);
check(finalB.phase.Settled.digest === blake2AsHex(expectedOutput(3, new TextEncoder().encode('reorg: job B, another requester '))), `job ${jobB} (B) settled with B's output: the record of A under that id was dropped, B run afresh`);
check(finalA.phase.Settled.digest === blake2AsHex(expectedOutput(2, new TextEncoder().encode('reorg: job A '))), `job ${jobA2} (A, posted again) settled with A's output: redone`);
check(/after a reorg the chain has another job under this id/.test(log()) || /a reorg retracted the job this task ran/.test(log()), 'the worker said it dropped the retracted job\'s record');

const to = await finalizedNumber(alice);
const commitsC = await commitsOnFinalChain(jobC, finalBeforeCut, to);
check(commitsC.length === 1, `job ${jobC} has exactly one commit on the final chain`, JSON.stringify(commitsC));
check(commitsC[0]?.commitment === minorityCommit, `job ${jobC}'s commit on the final chain is the retracted one, resent: the same commitment and salt`, `${commitsC[0]?.commitment} vs ${minorityCommit}`);
const commitsB = await commitsOnFinalChain(jobB, finalBeforeCut, to);
check(commitsB.length === 1, `job ${jobB} (B) has exactly one commit on the final chain`, JSON.stringify(commitsB));
check(commitsB[0]?.commitment !== minorityCommit, `no retracted commitment landed on job ${jobB}`);
const served = await waitFor(`job ${jobC}'s output to be served`, async () => {
  const r = await downloadWith(RESULTS, jobC, downloadHeaders(RESULTS, genesis, jobC, first));
  return r.status === 404 ? undefined : r;
}, 30_000, { everyMs: 500 });
const body = new Uint8Array(await served.arrayBuffer());
check(served.status === 200 && blake2AsHex(body) === finalC.phase.Settled.digest, `job ${jobC}'s output is served once its settlement is final, and it is the verified one`);
check(await downloadStatus(jobB, second) === 200, `job ${jobB}'s output is served to B's requester`);

console.log(`reorg: ${passed} passed, ${failed} failed`);
for (const api of Object.values(apis)) await api.disconnect();
process.exit(failed === 0 ? 0 : 1);
