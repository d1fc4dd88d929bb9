// The compute market end to end, as a dApp drives it: an unmodified @polkadot/api against a
// running Stratus node at $STRATUS_WS (default ws://127.0.0.1:9944) with the dev accounts endowed.
//
// A provider registers with stake and a GPU profile and posts an offer; a requester registers a
// WASM program and posts a job that is matched in the same block; the provider acknowledges,
// commits and reveals; the chain settles — the provider is paid its price × units less the
// protocol fee and the requester gets the rest of the escrow back. Then `market_whyNoMatch`
// explains a job whose requirements no offer meets, and cancelling it refunds everything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { u8aConcat, u8aToHex, hexToU8a } from '@polkadot/util';
import { eventData, send as sendOn, shortenSlashDefer, waitFor, withCustomSection } from './lib.mjs';
import { blake2AsU8a, cryptoWaitReady, decodeAddress, randomAsU8a } from '@polkadot/util-crypto';

const URL = process.env.STRATUS_WS ?? 'ws://127.0.0.1:9944';
const UNIT = 10n ** 12n;

let api;
let ws;
let alice;
let provider;
let requester;
// This run's provider is the only one in this region, so jobs that ask for it match it even on a
// chain where other offers rest.
const REGION = 1000 + Math.floor(Math.random() * 60_000);

/// Signs and sends `tx` on this run's api (lib.mjs): resolves when it is in a block with that
/// block's hash and the extrinsic's events, rejects with the dispatch error's name and docs.
function send(tx, signer) {
  return sendOn(api, tx, signer);
}

/// The bound commitment of stratus_primitives::commitment, made here independently from its
/// documented byte layout (SCALE: u64 little-endian, u8, the 32-byte account).
function commitmentOf(job, replica, providerKey, units, digest, salt) {
  const le64 = (n) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  };
  const preimage = u8aConcat(
    new TextEncoder().encode('stratus/commit/v1'), api.genesisHash.toU8a(), le64(job),
    new Uint8Array([replica]), providerKey, le64(units), digest, salt,
  );
  return blake2AsU8a(preimage, 256);
}

const event = eventData;

/// The fee an extrinsic paid, from its TransactionFeePaid event.
function feePaid(events) {
  return event(events, 'transactionPayment', 'TransactionFeePaid').actualFee.toBigInt();
}

/// A raw JSON-RPC call (the `market_*` methods are not in @polkadot/api's built-in list).
function rpc(method, params) {
  return ws.send(method, params);
}

async function free(who) {
  return (await api.query.system.account(who.address)).data.free.toBigInt();
}

/// A minimal WASM module with a random custom section, so that each run registers a new program.
function wasmProgram() {
  return withCustomSection(hexToU8a('0x0061736d01000000'), 'salt', 8);
}

function jobSpec(program, bestNumber, requirements = {}) {
  return {
    program,
    input: { Inline: u8aToHex(new TextEncoder().encode('render frame 42')) },
    requirements: {
      minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [],
      regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0, minReputation: 0,
      ...requirements,
    },
    maxPrice: 5n * UNIT / 1000n, // 0.005 STRAT per unit
    maxUnits: 1000,
    policy: 'Unverified',
    commitWindow: 20,
    deadline: bestNumber + 200,
    maxOutputBytes: 1 << 20,
  };
}

before(async () => {
  await cryptoWaitReady();
  ws = new WsProvider(URL, 1000, {}, 30_000);
  api = await ApiPromise.create({ provider: ws, throwOnConnect: true, noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  alice = keyring.addFromUri('//Alice');
  const run = u8aToHex(randomAsU8a(4));
  provider = keyring.addFromUri(`//Provider/${run}`);
  requester = keyring.addFromUri(`//Requester/${run}`);
  // Fund both in one batch-free way: two transfers, the second waits for the first's block.
  await send(api.tx.balances.transferKeepAlive(provider.address, 1_000n * UNIT), alice);
  await send(api.tx.balances.transferKeepAlive(requester.address, 1_000n * UNIT), alice);
});

after(async () => {
  await api?.disconnect();
});

describe('the compute market through @polkadot/api', () => {
  let programHash;
  let offerPrice;

  test('a provider registers with stake and a GPU profile, and posts an offer', async () => {
    const profile = {
      kinds: ['Wasm', 'Cuda'],
      gpus: [{
        model: 'NVIDIA H100 80GB HBM3', vramMib: 81_559, computeCapability: 90,
        driverVersion: 55_054, cudaVersion: 12_040, count: 1,
      }],
      cpuCores: 32, memoryMib: 262_144, region: REGION, endpoint: 'http://127.0.0.1:8780',
    };
    const stake = 50n * UNIT;
    const { events } = await send(
      api.tx.providerStaking.register(provider.address, profile, stake, null), provider,
    );
    assert.ok(event(events, 'providerStaking', 'ProviderRegistered'));
    const info = (await api.query.providerStaking.providers(provider.address)).unwrap();
    assert.equal(info.stake.toBigInt(), stake);
    assert.equal(info.profile.gpus[0].vramMib.toNumber(), 81_559);

    offerPrice = 2n * UNIT / 1000n; // 0.002 STRAT per unit
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const posted = await send(api.tx.market.postOffer('Cpu', offerPrice, 2, best + 10_000), provider);
    const offer = event(posted.events, 'market', 'OfferPosted');
    assert.equal(offer.provider.toString(), provider.address);
    assert.equal(offer.price.toBigInt(), offerPrice);

    const offers = await rpc('market_providerOffers', [provider.address, null]);
    assert.ok(offers.some((o) => o.offer === offer.offer.toNumber() && o.price === offerPrice.toString()));
  });

  test('a requester registers a WASM program', async () => {
    const code = wasmProgram();
    const { events } = await send(api.tx.market.registerProgram('Wasm', u8aToHex(code)), requester);
    const registered = event(events, 'market', 'ProgramRegistered');
    programHash = u8aToHex(blake2AsU8a(code, 256));
    assert.equal(registered.program.toHex(), programHash);
    assert.ok((await api.query.market.programs(programHash)).isSome);
  });

  test('a job matches in the block it is posted in, is committed, revealed and settled', async () => {
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const bestPrice = await rpc('market_bestPrice', ['Wasm', { regionsAllowed: [REGION] }, null]);
    // Requirements no job could carry are an error that names the list, not "no offer".
    await assert.rejects(
      rpc('market_bestPrice', ['Wasm', { regionsAllowed: Array.from({ length: 17 }, (_, i) => i + 1) }, null]),
      /invalid requirements: regionsAllowed holds at most 16 regions/,
    );
    assert.equal(BigInt(bestPrice), offerPrice);

    const requesterBefore = await free(requester);
    const spec = jobSpec(programHash, best, { regionsAllowed: [REGION] });
    const submitted = await send(api.tx.market.submitJob(spec), requester);
    const job = event(submitted.events, 'market', 'JobSubmitted');
    const jobId = job.job.toNumber();
    const escrow = job.escrow.toBigInt();
    assert.equal(escrow, 5n * UNIT / 1000n * 1000n);
    // Matched in the same block (the same extrinsic), to our provider at its offer's price.
    const assigned = submitted.events
      .map(({ event: e }) => e)
      .filter((e) => e.section === 'market' && e.method === 'ReplicaAssigned' &&
        e.data.job.toNumber() === jobId);
    assert.equal(assigned.length, 1);
    assert.equal(assigned[0].data.provider.toString(), provider.address);
    assert.equal(assigned[0].data.price.toBigInt(), offerPrice);
    const submitFee = feePaid(submitted.events);

    const work = await rpc('market_providerReplicas', [provider.address, null]);
    assert.ok(work.some((r) => r.job === jobId && r.state === 'Assigned'));

    // The provider's worker: acknowledge, run, commit the bound commitment (docs/market.md):
    // blake2("stratus/commit/v1" ‖ genesis ‖ job ‖ replica ‖ provider ‖ units ‖ digest ‖ salt).
    await send(api.tx.market.acknowledge(jobId, 0), provider);
    const digest = blake2AsU8a(new TextEncoder().encode('frame 42 rendered'), 256);
    const salt = randomAsU8a(32);
    const units = 600n;
    const commitment = commitmentOf(jobId, 0, provider.publicKey, units, digest, salt);
    const committed = await send(api.tx.verification.commit(jobId, 0, commitment), provider);
    assert.ok(event(committed.events, 'verification', 'ReplicaCommitted'));
    // One replica: every replica has committed, so the reveal window opened.
    assert.ok(event(committed.events, 'market', 'RevealOpened'));

    // A reveal claiming other units does not open the commitment, and changes nothing.
    await assert.rejects(
      send(api.tx.verification.reveal(jobId, 0, digest, units + 1n, salt), provider),
      /RevealMismatch/,
    );
    const providerBefore = await free(provider);
    const revealed = await send(
      api.tx.verification.reveal(jobId, 0, digest, units, salt), provider,
    );
    const revealFee = feePaid(revealed.events);
    assert.equal(revealFee, 0n, 'a valid reveal costs the provider no fee');
    assert.equal(feePaid(committed.events), 0n, 'nor does a valid commit');
    const settled = event(revealed.events, 'market', 'JobSettled');
    assert.equal(settled.digest.toHex(), u8aToHex(digest));
    const paid = event(revealed.events, 'market', 'ProviderPaid');
    const gross = offerPrice * units;
    const fee = paid.fee.toBigInt();
    assert.equal(paid.amount.toBigInt() + fee, gross);
    assert.equal(fee, gross * 2n / 100n, 'the protocol fee is 2%');
    assert.equal(settled.refunded.toBigInt(), escrow - gross);

    // The provider got its payment (less what its reveal cost); the requester paid exactly
    // price × units plus its submission fee and holds nothing any more.
    assert.equal(await free(provider), providerBefore + paid.amount.toBigInt() - revealFee);
    // The job's storage deposit stays held until its record is reaped (a day after it ended).
    const jobDeposit = api.consts.market.jobDeposit.toBigInt();
    assert.equal(await free(requester), requesterBefore - submitFee - gross - jobDeposit);
    const account = await api.query.system.account(requester.address);
    assert.equal(account.data.reserved.toBigInt() > 0n, true, 'the program deposit is still held');
    const holds = await api.query.balances.holds(requester.address);
    const escrowHold = holds.find((h) => h.id.toJSON()?.market === 'JobEscrow');
    assert.ok(!escrowHold || escrowHold.amount.toBigInt() === 0n, 'no escrow left held');

    const status = await rpc('market_jobStatus', [jobId, null]);
    assert.deepEqual(status.phase, { Settled: { digest: u8aToHex(digest) } });
    assert.equal(status.replicas[0].units, Number(units));
    assert.equal(status.escrow, '0');
  });

  test('market_whyNoMatch explains a job no offer can serve, and cancelling refunds it', async () => {
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const spec = jobSpec(programHash, best, { regionsAllowed: [REGION + 1], minCpuCores: 512 });
    const before = await free(requester);
    const submitted = await send(api.tx.market.submitJob(spec), requester);
    const jobId = event(submitted.events, 'market', 'JobSubmitted').job.toNumber();
    assert.equal(event(submitted.events, 'market', 'ReplicaAssigned'), undefined);

    const report = await rpc('market_whyNoMatch', [jobId, null]);
    assert.equal(report.unfilled, 1);
    assert.equal(report.eligible, 0);
    assert.ok(report.offers >= 1);
    const excluded = Object.fromEntries(report.excludedBy);
    assert.equal(excluded.region, report.offers, 'every offer is outside the region');
    assert.equal(excluded.minCpuCores, report.offers, 'no offer has 512 cores');
    // The same answer through the runtime API, decoded from the metadata.
    const viaApi = await api.call.marketApi.whyNoMatch(jobId);
    assert.equal(viaApi.unwrap().eligible.toNumber(), 0);

    const cancelled = await send(api.tx.market.cancelJob(jobId), requester);
    const c = event(cancelled.events, 'market', 'JobCancelled');
    assert.equal(
      c.refunded.toBigInt(),
      event(submitted.events, 'market', 'JobSubmitted').escrow.toBigInt(),
      'the whole escrow is refunded',
    );
    assert.equal(
      await free(requester),
      before - feePaid(submitted.events) - feePaid(cancelled.events) - api.consts.market.jobDeposit.toBigInt(),
      'everything held for the job came back but its storage deposit, held until it is reaped',
    );
  });

  test('a bad job is refused with its documented error and changes nothing', async () => {
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const nonce = (await api.rpc.system.accountNextIndex(requester.address)).toNumber();
    const spec = { ...jobSpec(programHash, best), deadline: best - 1 };
    await assert.rejects(
      send(api.tx.market.submitJob(spec), requester),
      /market\.DeadlineInPast: The deadline is not in the future/,
    );
    const unknown = { ...jobSpec(u8aToHex(randomAsU8a(32)), best) };
    await assert.rejects(send(api.tx.market.submitJob(unknown), requester), /market\.UnknownProgram/);
    // The failed extrinsics paid fees but left no job behind.
    assert.equal((await api.rpc.system.accountNextIndex(requester.address)).toNumber(), nonce + 2);
  });

  test('a missed acknowledgement is slashed after a delay, and a slash Root cancels in time is not applied', async () => {
    // Ten blocks' delay instead of the dev chain's two minutes (Root may set it), put back after.
    const restore = await shortenSlashDefer(api, alice, 10);
    try {
      await missedAckSlashedThenCancelled(programHash);
    } finally {
      await restore();
    }
  });

  test('the commitment\'s block fixes the spot-check draw: the runtime\'s forecast is the decision, and a spared job\'s reveals, sent at once, settle it', async () => {
    await forecastThenReveal(programHash);
  });
});

/// The forecast test's body (above). Three providers of their own in a region of their own post
/// offers; a `replicated(2)` job matches two of them (the third is there to be drawn as its
/// spot-check), both commit at once, and at the block holding the commitments the runtime API
/// `MarketApi::spot_check_forecast` says whether the next block's hook will draw a spot-check —
/// which the hook's `SpotCheckDecided` must then say too. Spared, the reveals are sent at once,
/// while the job is still open (the worker's fast path), and settle it as soon as the window
/// opens; checked, the spot-check replica commits first.
async function forecastThenReveal(programHash) {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  const region = REGION + 1;
  const run = u8aToHex(randomAsU8a(4));
  const trio = [0, 1, 2].map((i) => keyring.addFromUri(`//Forecast/${run}/${i}`));
  for (const p of trio) {
    await send(api.tx.balances.transferKeepAlive(p.address, 1_000n * UNIT), alice);
  }
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  await Promise.all(trio.map(async (p) => {
    const profile = { kinds: ['Wasm'], gpus: [], cpuCores: 4, memoryMib: 8192, region, endpoint: 'http://127.0.0.1:8780' };
    await send(api.tx.providerStaking.register(p.address, profile, 50n * UNIT, null), p);
    await send(api.tx.market.postOffer('Cpu', 2n * UNIT / 1000n, 1, best + 10_000), p);
  }));
  const spec = { ...jobSpec(programHash, best, { regionsAllowed: [region] }), policy: { Replicated: 2 } };
  const submitted = await send(api.tx.market.submitJob(spec), requester);
  const jobId = event(submitted.events, 'market', 'JobSubmitted').job.toNumber();
  const byAddress = new Map(trio.map((p) => [p.address, p]));
  const replicas = () => rpc('market_jobStatus', [jobId, null]).then((s) => s.replicas);
  assert.equal((await replicas()).length, 2, 'two replicas matched in the job\'s block');

  const digest = blake2AsU8a(new TextEncoder().encode('frame 42 rendered'), 256);
  const units = 600n;
  const salts = new Map();
  const commitAll = (list) => Promise.all(list.map((r) => {
    const who = byAddress.get(keyring.encodeAddress(decodeAddress(r.provider), api.registry.chainSS58));
    const salt = randomAsU8a(32);
    salts.set(r.replica, { who, salt });
    return send(api.tx.verification.commit(jobId, r.replica, commitmentOf(jobId, r.replica, who.publicKey, units, digest, salt)), who);
  }));
  const revealAll = () => Promise.all([...salts.entries()].map(([replica, { who, salt }]) =>
    send(api.tx.verification.reveal(jobId, replica, digest, units, salt), who)));
  const blockOf = async (hash) => (await api.rpc.chain.getHeader(hash)).number.toNumber();

  const commits = await commitAll(await replicas());
  const numbers = await Promise.all(commits.map((c) => blockOf(c.blockHash)));
  // The first commitment's block fixes the draw; the next block's hook takes it.
  const first = numbers.indexOf(Math.min(...numbers));
  const commitHash = commits[first].blockHash;
  const commitBlock = numbers[first];
  const forecast = (await (await api.at(commitHash)).call.marketApi.spotCheckForecast(jobId, commitHash));
  assert.ok(forecast.isSome, `a draw waits at #${commitBlock}`);
  const drawn = forecast.unwrap().isTrue;
  // Asked at another block, with another hash, it would not know.
  const status = await rpc('market_jobStatus', [jobId, commitHash]);
  assert.equal(status.spotCheck?.Drawing?.at, commitBlock + 1, JSON.stringify(status.spotCheck));

  // Spared, with every commitment in that block: the worker's fast path, reveal at once.
  const early = !drawn && numbers.every((n) => n === commitBlock);
  const sentWhileOpen = early && (await api.rpc.chain.getHeader()).number.toNumber() === commitBlock;
  const reveals = early ? revealAll() : undefined;
  const drawBlock = await waitForBlock(commitBlock + 1);
  const events = await api.query.system.events.at(drawBlock);
  const decided = events.map(({ event: e }) => e)
    .find((e) => e.section === 'market' && e.method === 'SpotCheckDecided' && e.data.job.toNumber() === jobId);
  assert.ok(decided, `the hook of #${commitBlock + 1} decided the spot-check`);
  assert.equal(decided.data.checked.isTrue, drawn, `the forecast at #${commitBlock} said drawn = ${drawn}`);
  if (drawn) {
    const check = (await replicas()).filter((r) => !salts.has(r.replica));
    assert.equal(check.length, 1, 'one spot-check replica drawn');
    await commitAll(check);
  }
  const revealed = await (reveals ?? (async () => {
    await waitFor('the reveal window', async () => (await rpc('market_jobStatus', [jobId, null])).phase?.Revealing, 60_000, { everyMs: 500 });
    return revealAll();
  })());
  const settledIn = revealed.find((r) => event(r.events, 'market', 'JobSettled'));
  assert.ok(settledIn, 'the last reveal settled the job in its own block');
  assert.deepEqual((await rpc('market_jobStatus', [jobId, null])).phase, { Settled: { digest: u8aToHex(digest) } });
  const settledAt = await blockOf(settledIn.blockHash);
  if (sentWhileOpen) {
    // Sent while the best block still had the job open, they went in after the hook that
    // opened the window: the job settled in the block after its commitments.
    assert.equal(settledAt, commitBlock + 1, 'reveals sent at the commitments\' block settle in the next');
  }
  console.log(`# commitments in #${numbers.join(', #')}; spot-check drawn: ${drawn}; settled in #${settledAt}${sentWhileOpen ? ' (reveals sent before the window opened)' : ''}`);
}

/// The hash of block `n` on the best chain, once it exists.
async function waitForBlock(n) {
  return waitFor(`block #${n}`, async () => {
    if ((await api.rpc.chain.getHeader()).number.toNumber() < n) return undefined;
    return (await api.rpc.chain.getBlockHash(n)).toHex();
  }, 60_000, { everyMs: 250 });
}

/// The missed-acknowledgement test's body (above), run with a short defer period.
async function missedAckSlashedThenCancelled(programHash) {
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const spec = jobSpec(programHash, best, { regionsAllowed: [REGION] });
  const submitted = await send(api.tx.market.submitJob(spec), requester);
  const jobId = event(submitted.events, 'market', 'JobSubmitted').job.toNumber();
  assert.ok(event(submitted.events, 'market', 'ReplicaAssigned'), 'matched to our provider');
  // The provider never acknowledges. After the acknowledgement window the replica misses and
  // a slash is deferred: the stake behind it is frozen, nothing is taken yet.
  let unsubscribe;
  const slash = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no SlashDeferred within 120 s')), 120_000);
    unsubscribe = api.query.system.events((records) => {
      for (const { event: e } of records) {
        if (e.section === 'slashing' && e.method === 'SlashDeferred' && e.data.job.toNumber() === jobId) {
          clearTimeout(timer);
          resolve(e.data);
        }
      }
    });
  });
  (await unsubscribe)();
  assert.equal(slash.offence.toString(), 'MissedAck');
  assert.equal(slash.provider.toString(), provider.address);
  const frozen = (await api.query.providerStaking.providers(provider.address)).unwrap().frozen.toBigInt();
  assert.equal(frozen, slash.amount.toBigInt(), 'the slash is frozen in the stake');
  const pending = await api.call.slashingApi.pendingSlashes(provider.address);
  assert.equal(pending.length, 1);
  // The node's JSON-RPC says the same, amounts as decimal strings.
  const pendingRpc = await rpc('slashing_pendingSlashes', [provider.address, null]);
  assert.equal(pendingRpc.length, 1);
  assert.equal(pendingRpc[0].offence, 'MissedAck');
  assert.equal(pendingRpc[0].amount, slash.amount.toBigInt().toString());
  assert.equal(pendingRpc[0].applyAt, slash.applyAt.toNumber());
  const reputation = await rpc('reputation_of', [provider.address, null]);
  const wasm = reputation.find((r) => r.kind === 'Wasm');
  assert.ok(wasm && wasm.failed >= 1 && wasm.consecutiveValid === 0, `a miss is on the record: ${JSON.stringify(reputation)}`);
  // A signed call that is not Root cannot cancel it.
  await assert.rejects(send(api.tx.slashing.cancelSlash(slash.id), requester), /BadOrigin/);
  // Root (sudo on the dev chain; a governance track later) cancels it inside its window.
  const cancelled = await send(api.tx.sudo.sudo(api.tx.slashing.cancelSlash(slash.id)), alice);
  assert.ok(event(cancelled.events, 'slashing', 'SlashCancelled'));
  const after = (await api.query.providerStaking.providers(provider.address)).unwrap();
  assert.equal(after.frozen.toBigInt(), 0n, 'the stake is thawed');
  // Past the block it would have applied in, nothing was taken.
  const applyAt = slash.applyAt.toNumber();
  for (;;) {
    const now = (await api.rpc.chain.getHeader()).number.toNumber();
    if (now > applyAt) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
  const later = (await api.query.providerStaking.providers(provider.address)).unwrap();
  assert.equal(later.slashed.toBigInt(), 0n, 'a cancelled slash is never applied');
  assert.equal(later.stake.toBigInt(), after.stake.toBigInt());
  assert.equal((await api.call.slashingApi.appliedSlashes(provider.address)).length, 0);
  assert.deepEqual(await rpc('slashing_appliedSlashes', [provider.address, null]), []);
}
