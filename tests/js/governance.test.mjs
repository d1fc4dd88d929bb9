// Governance end to end on a dev node ($STRATUS_WS, the `development` preset: referenda on the
// fast tracks take about a minute), two ways a token holder would do it:
//
// 1. As polkadot.js apps does, through an unmodified @polkadot/api: the tracks are read from the
//    chain, a market parameter change is noted as a preimage, submitted on the market_admin
//    track with the Governance origin, its decision deposit placed, voted through with
//    conviction by several accounts, enacted, and read back from `parameters.parameters`. A
//    value outside its bounds is refused even from Root (sudo), and `pallet-parameters`' own call
//    is not in the runtime.
// 2. With the `stratus gov` CLI ($STRATUS_CLI) as docs/governance.md walks a voter through it:
//    a proposal outside the bounds is refused before anything is sent; a change of the job
//    deposit is proposed, listed, voted through by several keystore accounts and enacted; the
//    next job posted holds the new deposit; the deposits are refunded; votes are removed and
//    unlocked.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { eventData, run, send as sendOn, waitFor, withCustomSection } from './lib.mjs';

const URL = process.env.STRATUS_WS ?? 'ws://127.0.0.1:9944';
const STRATUS = process.env.STRATUS_CLI;
const UNIT = 10n ** 12n;
// Enough of the dev accounts (a twelfth of the issuance each) that support passes the fast
// market_admin track's curve at its start: the test waits on prepare, confirm and enactment.
const VOTERS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie', 'Alice//stash', 'Bob//stash'];

let api;
let keys;
// The referendum the @polkadot/api part passed: Alice's vote on it is removed at the end too.
let appsReferendum;
let keystore;

function send(tx, signer) {
  return sendOn(api, tx, signer);
}

function stratus(args, input = '') {
  return run(STRATUS, ['--endpoint', URL, '--keystore', keystore, ...args], {
    input, env: { STRATUS_PASSPHRASE: 'governance test' },
  });
}

async function parameter(key) {
  const value = await api.query.parameters.parameters(key);
  return value.isSome ? value.unwrap().toJSON() : null;
}

/// Each voter votes aye with nine tenths of its free balance at conviction 1.
async function voteThrough(index) {
  for (const name of VOTERS) {
    const who = keys[name];
    const free = (await api.query.system.account(who.address)).data.free.toBigInt();
    const vote = { Standard: { vote: { aye: true, conviction: 'Locked1x' }, balance: (free * 9n) / 10n } };
    await send(api.tx.convictionVoting.vote(index, vote), who);
  }
}

before(async () => {
  assert.ok(STRATUS && fs.existsSync(STRATUS), `STRATUS_CLI (${STRATUS}) is the stratus binary`);
  await cryptoWaitReady();
  api = await ApiPromise.create({ provider: new WsProvider(URL, 1000, {}, 30_000), throwOnConnect: true, noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  keys = Object.fromEntries(VOTERS.map((n) => [n, keyring.addFromUri(`//${n}`)]));
  keystore = fs.mkdtempSync(path.join(os.tmpdir(), 'stratus-gov-'));
});

after(async () => {
  // Put the parameters this file changed back to their defaults (sudo: the dev chain has it), so
  // tests that run after it on the same node see the defaults.
  if (api) {
    for (const key of ['ReplicatedSpotCheck', 'JobDeposit']) {
      const reset = api.tx.governance.setParameter({ Market: { [key]: [null, null] } });
      await send(api.tx.sudo.sudo(reset), keys.Alice).catch(() => {});
    }
    await api.disconnect();
  }
  if (keystore) fs.rmSync(keystore, { recursive: true, force: true });
});

describe('governance through @polkadot/api (what polkadot.js apps sends)', () => {
  test('the chain describes its five tracks', () => {
    const tracks = api.consts.referenda.tracks.toJSON();
    // Names are fixed-size byte arrays, padded with zeros (as apps shows them).
    const names = tracks.map(([, info]) => info.name.replace(/\0+$/, ''));
    assert.deepEqual(names, ['root', 'market_admin', 'slash_canceller', 'treasurer', 'staking_admin']);
    // The development preset runs the fast profile: periods in tens of blocks, not days.
    const market = tracks[1][1];
    assert.ok(market.decisionPeriod <= 200, `decision period ${market.decisionPeriod}`);
    assert.equal(api.tx.parameters, undefined, "pallet-parameters' own call is not in the runtime");
  });

  test('a market parameter changed by referendum: preimage, submission, deposit, votes, enactment', async () => {
    const key = { Market: { ReplicatedSpotCheck: null } };
    assert.equal(await parameter(key), null, 'the default is in force');
    const call = api.tx.governance.setParameter({ Market: { ReplicatedSpotCheck: [null, 200_000_000] } });
    const alice = keys.Alice;
    // Noted once per chain (a preimage is keyed by its hash): a node that ran this file before
    // still holds it.
    if ((await api.query.preimage.requestStatusFor(call.method.hash)).isNone) {
      await send(api.tx.preimage.notePreimage(call.method.toHex()), alice);
    }
    const { events } = await send(api.tx.referenda.submit(
      { Governance: 'MarketAdmin' },
      { Lookup: { hash: call.method.hash, len: call.method.encodedLength } },
      { After: 0 },
    ), alice);
    const submitted = eventData(events, 'referenda', 'Submitted');
    assert.equal(submitted.track.toNumber(), 1, 'the Governance(MarketAdmin) origin is the market_admin track');
    const index = submitted.index.toNumber();
    await send(api.tx.referenda.placeDecisionDeposit(index), alice);
    await voteThrough(index);
    await waitFor('the referendum to be enacted', async () => {
      const value = await parameter(key);
      return value !== null;
    }, 240_000);
    appsReferendum = index;
    assert.deepEqual(await parameter(key), { market: { replicatedSpotCheck: 200_000_000 } });
    const info = (await api.query.referenda.referendumInfoFor(index)).unwrap();
    assert.ok(info.isApproved, info.toString());
  });

  test('a value outside its bounds is refused even from Root, and nothing changes', async () => {
    const key = { Market: { ProtocolFee: null } };
    const before = await parameter(key);
    const tooHigh = api.tx.governance.setParameter({ Market: { ProtocolFee: [null, 500_000_000] } });
    const { events } = await send(api.tx.sudo.sudo(tooHigh), keys.Alice);
    const result = eventData(events, 'sudo', 'Sudid').sudoResult;
    assert.ok(result.isErr);
    const { section, name } = api.registry.findMetaError(result.asErr.asModule);
    assert.equal(`${section}.${name}`, 'governance.AboveMaximum');
    assert.deepEqual(await parameter(key), before);
  });
});

describe('governance with the stratus CLI', () => {
  test('stratus gov: propose, list, vote through; the next job holds the new deposit; unlock', async () => {
    for (const name of VOTERS) {
      const id = name.replace('//', '-').toLowerCase();
      const r = await stratus(['account', 'import', id], `//${name}\n`);
      assert.equal(r.status, 0, r.stderr);
    }
    let r = await stratus(['gov', 'tracks']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /market_admin/);

    // Out of bounds: refused before a fee is paid or a deposit held.
    const count = (await api.query.referenda.referendumCount()).toNumber();
    r = await stratus(['--account', 'alice', 'gov', 'propose', 'param', 'market.ProtocolFee', '50%']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /above the parameter's safe maximum/);
    r = await stratus(['--account', 'alice', 'gov', 'propose', 'param', 'market.JobDeposit', '20']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no unit/);
    assert.equal((await api.query.referenda.referendumCount()).toNumber(), count, 'nothing was submitted');

    r = await stratus(['--json', '--account', 'alice', 'gov', 'propose', 'param', 'market.JobDeposit', '0.02 STRAT']);
    assert.equal(r.status, 0, r.stderr);
    const proposed = JSON.parse(r.stdout);
    assert.equal(proposed.track, 'market_admin');
    const index = proposed.referendum;

    r = await stratus(['--json', 'gov', 'referenda']);
    const listed = JSON.parse(r.stdout).find((x) => x.index === index);
    assert.equal(listed.state, 'ongoing');
    assert.equal(listed.decisionDepositPlaced, true);

    for (const name of VOTERS) {
      const id = name.replace('//', '-').toLowerCase();
      const free = (await api.query.system.account(keys[name].address)).data.free.toBigInt();
      const amount = `${(free * 9n) / 10n / UNIT} STRAT`;
      r = await stratus(['--account', id, 'gov', 'vote', String(index), 'aye', amount, '--conviction', '1']);
      assert.equal(r.status, 0, r.stderr);
    }
    const key = { Market: { JobDeposit: null } };
    await waitFor('the CLI referendum to be enacted', async () => (await parameter(key)) !== null, 240_000);
    assert.deepEqual(await parameter(key), { market: { jobDeposit: 20_000_000_000 } });
    r = await stratus(['--json', 'gov', 'referenda']);
    assert.equal(JSON.parse(r.stdout).find((x) => x.index === index).state, 'approved');

    // The proposer takes back both deposits of the approved referendum.
    const reservedBefore = (await api.query.system.account(keys.Alice.address)).data.reserved.toBigInt();
    r = await stratus(['--json', '--account', 'alice', 'gov', 'refund', String(index)]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).done, ['decision deposit refunded', 'submission deposit refunded']);
    const reservedAfter = (await api.query.system.account(keys.Alice.address)).data.reserved.toBigInt();
    assert.equal(reservedBefore - reservedAfter, 101n * UNIT, 'the 100 STRAT decision and 1 STRAT submission deposits');

    // The next job holds the new deposit.
    const requester = keys.Bob;
    const code = withCustomSection(hexToU8a('0x0061736d01000000'), 'salt', 8);
    const registered = await send(api.tx.market.registerProgram('Wasm', u8aToHex(code)), requester);
    const program = eventData(registered.events, 'market', 'ProgramRegistered').program;
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const spec = {
      program,
      input: { Inline: u8aToHex(new TextEncoder().encode('governed')) },
      requirements: {
        minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [65_000],
        regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0, minReputation: 0,
      },
      maxPrice: UNIT / 1000n, maxUnits: 1000, policy: 'Unverified', commitWindow: 20,
      deadline: best + 200, maxOutputBytes: 1 << 20,
    };
    const submitted = await send(api.tx.market.submitJob(spec), requester);
    const job = eventData(submitted.events, 'market', 'JobSubmitted').job.toNumber();
    const record = (await api.query.market.jobs(job)).unwrap();
    assert.equal(record.deposit.toBigInt(), 20_000_000_000n, 'the job holds the deposit the referendum set');
    await send(api.tx.market.cancelJob(job), requester);

    // Votes on a decided referendum can be removed; the lock of conviction 1 lasts one lock
    // period (20 blocks on the fast profile) after the referendum ends, then unlock frees it.
    // Every vote Alice has on the market_admin track (this file's two referenda; more on a node
    // that ran it before) is on a decided referendum.
    const voting = await api.query.convictionVoting.votingFor(keys.Alice.address, 1);
    const indices = voting.asCasting.votes.map(([i]) => i.toNumber());
    assert.ok(indices.includes(index) && indices.includes(appsReferendum), `${indices}`);
    for (const decided of indices) {
      r = await stratus(['--account', 'alice', 'gov', 'remove-vote', String(decided)]);
      assert.equal(r.status, 0, r.stderr);
    }
    await waitFor('the vote lock to expire and unlock to free it', async () => {
      const out = await stratus(['--json', '--account', 'alice', 'gov', 'unlock']);
      return out.status === 0 && JSON.parse(out.stdout).stillLocked?.length === 0;
    }, 180_000, { everyMs: 6000 });
    const locks = await api.query.balances.locks(keys.Alice.address);
    assert.ok(!locks.some((l) => l.id.toHuman() === 'pyconvot'), `Alice's vote lock is gone: ${locks.toString()}`);
  });
});
