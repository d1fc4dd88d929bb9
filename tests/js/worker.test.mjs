// The provider worker end to end, as a provider and a requester would use it, on a real node at
// $STRATUS_WS with the dev accounts endowed:
//
// - a new provider follows docs/provider-guide.md with the real `stratus-worker` binary
//   ($STRATUS_WORKER): `init` (fresh keys), funding, `register`, `offer`, `status`, `run`;
// - a requester (@polkadot/api) registers a real WASM program (stratus-kernels' SHA-256 job,
//   $STRATUS_KERNEL_WASM) and posts a job; the worker acknowledges, runs, commits and reveals; the
//   chain settles with the canonical digest and pays the provider;
// - the requester downloads the output from the worker's result server with a signed request and
//   it matches the digest (and the SHA-256 computed here); another key and an unsigned request are
//   refused;
// - a worker killed (SIGKILL) in the middle of a job and started again still ends with a verified,
//   paid job; one that crashes right after each stage (running, computed, committed, revealed)
//   resumes and the replica settles with one commit and one reveal; SIGTERM stops it cleanly;
// - the config names a dead endpoint before the live one: commands and daemon fail over;
// - a requester uses the `stratus` CLI ($STRATUS_CLI) as docs/requester-guide.md says: imports a
//   key, submits a WASM job from a manifest and follows it to settlement, downloads the verified
//   output, asks `job why` about a job no offer can serve and cancels it; bad manifests and programs
//   the chain would refuse are refused before anything is sent (the account's nonce and balance do
//   not move).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex, u8aToString } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady, decodeAddress, encodeAddress, randomAsU8a } from '@polkadot/util-crypto';
import sodium from 'libsodium-wrappers';
import {
  downloadHeaders as signedHeaders, downloadWith, eventData, expectedOutput, freePort, kernelInput,
  run, send as sendOn, waitFor as waitUntil, withCustomSection,
} from './lib.mjs';

const URL = process.env.STRATUS_WS ?? 'ws://127.0.0.1:9944';
const WORKER = process.env.STRATUS_WORKER;
const KERNEL = process.env.STRATUS_KERNEL_WASM;
const STRATUS = process.env.STRATUS_CLI;
// Key files are encrypted; the passphrases come from the environment the children inherit.
const WORKER_PASSPHRASE = 'worker test passphrase';
process.env.STRATUS_WORKER_PASSPHRASE = WORKER_PASSPHRASE;
process.env.STRATUS_PASSPHRASE = 'operator and requester test passphrase';
delete process.env.STRATUS_WORKER_SURI;
// The provider's price per unit in this run; jobs offer exactly this much.
const PRICE = 1000n;
const UNIT = 10n ** 12n;
// Only this run's worker serves this region, so the jobs below match it and no other offer.
const REGION = 1000 + Math.floor(Math.random() * 60_000);

let api;
let ws;
let alice;
let requester;
let dir;
let config;
let operator;
let resultsUrl;
let worker;
let workerLog;
let keystore;

/// Signs and sends `tx` (lib.mjs's `send` on this run's api); with `finalized`, resolves once
/// it is finalized (the worker's commands read the finalized state).
function send(tx, signer, options) {
  return sendOn(api, tx, signer, options);
}

/// Runs a `stratus-worker` command to completion; returns its stdout, fails on a non-zero exit.
function cli(...args) {
  const out = spawnSync(WORKER, ['--config', config, ...args], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(out.status, 0, `stratus-worker ${args.join(' ')} failed:\n${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

/// Runs the `stratus` CLI with this run's keystore; resolves to its exit status and output.
function stratus(args, input = '', store = keystore) {
  return run(STRATUS, ['--endpoint', URL, '--keystore', store, ...args], { input });
}

function startWorker(env = {}) {
  const log = fs.openSync(workerLog, 'a');
  worker = spawn(WORKER, ['--config', config, 'run'], {
    stdio: ['ignore', log, log], env: { ...process.env, ...env },
  });
  worker.exited = new Promise((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal })));
}

function waitFor(what, check, timeoutMs, everyMs = 1000) {
  const detail = () => `; worker log: ${workerLog}\n${tail(workerLog)}`;
  return waitUntil(what, check, timeoutMs, { everyMs, detail });
}

function tail(file) {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-40).join('\n'); } catch { return ''; }
}

async function jobStatus(job) {
  return ws.send('market_jobStatus', [job]);
}

/// The kernel with a random custom section appended, so each run registers a new program.
function program() {
  return withCustomSection(fs.readFileSync(KERNEL), 'run', 16);
}

async function submitJob(programHash, input, maxUnits) {
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const spec = {
    program: programHash,
    input: { Inline: u8aToHex(input) },
    requirements: {
      minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [REGION],
      regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0,
    },
    maxPrice: PRICE,
    maxUnits,
    policy: 'Unverified',
    commitWindow: 60,
    deadline: best + 400,
    maxOutputBytes: 1024,
  };
  const { events } = await send(api.tx.market.submitJob(spec), requester);
  const assigned = eventData(events, 'market', 'ReplicaAssigned');
  assert.ok(assigned, 'the job matched the worker\'s offer in its own block');
  return eventData(events, 'market', 'JobSubmitted').job.toNumber();
}

async function settled(job, timeoutMs) {
  return waitFor(`job ${job} to settle`, async () => {
    const status = await jobStatus(job);
    return status?.phase?.Settled ? status : undefined;
  }, timeoutMs);
}

/// The headers of a download request (docs/provider-guide.md): signed for this chain, this
/// worker's endpoint and a fresh nonce.
function downloadHeaders(job, signer, { genesis = api.genesisHash.toHex(), endpoint = resultsUrl, ...options } = {}) {
  return signedHeaders(endpoint, genesis, job, signer, options);
}

async function download(job, signer, options = {}) {
  return downloadWith(resultsUrl, job, options.headers ?? downloadHeaders(job, signer, options));
}

before(async () => {
  assert.ok(WORKER && fs.existsSync(WORKER), `STRATUS_WORKER (${WORKER}) is the worker binary`);
  assert.ok(KERNEL && fs.existsSync(KERNEL), `STRATUS_KERNEL_WASM (${KERNEL}) is the kernel`);
  assert.ok(STRATUS && fs.existsSync(STRATUS), `STRATUS_CLI (${STRATUS}) is the stratus binary`);
  await cryptoWaitReady();
  ws = new WsProvider(URL, 1000, {}, 30_000);
  api = await ApiPromise.create({ provider: ws, throwOnConnect: true, noInitWarn: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  alice = keyring.addFromUri('//Alice');
  requester = keyring.addFromUri(`//Requester/${u8aToHex(randomAsU8a(4))}`);
  await send(api.tx.balances.transferKeepAlive(requester.address, 1_000n * UNIT), alice);

  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratus-worker-test-'));
  config = path.join(dir, 'worker.toml');
  workerLog = path.join(dir, 'worker.log');
  keystore = path.join(dir, 'keys');
  const port = await freePort();
  resultsUrl = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  await api?.disconnect();
});

describe('stratus-worker on a real node', () => {
  test('init, fund, register, offer and status, as docs/provider-guide.md says', async () => {
    // Two endpoints, the first a port nothing listens on: every command and the daemon fail over
    // to the next endpoint.
    const dead = `ws://127.0.0.1:${await freePort()}`;
    // The operator's key lives in the CLI keystore (the operator's machine), never on the worker
    // host: the worker gets its own fresh key, encrypted, and only the operator's address.
    const operatorKeys = path.join(dir, 'operator-machine', 'keys');
    const asOperator = (args) => stratus(args, '', operatorKeys);
    let r = await asOperator(['account', 'new', 'operator']);
    assert.equal(r.status, 0, r.stderr);
    operator = r.stdout.match(/created operator: (\S+)/)?.[1];
    assert.ok(operator, r.stdout);
    const out = cli('init', '--endpoint', dead, '--endpoint', URL, '--region', String(REGION), '--operator', operator);
    const workerAddress = out.match(/worker key: (\S+)/)?.[1];
    assert.ok(workerAddress && workerAddress !== operator, out);
    const keyFile = path.join(dir, 'worker-key.json');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    // The key file is polkadot-js JSON: @polkadot/keyring opens it with the passphrase (and a
    // wrong one does not), so the key moves to polkadot.js and back.
    const keyJson = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
    const restored = new Keyring({ type: 'sr25519' }).addFromJson(keyJson);
    assert.throws(() => restored.decodePkcs8('not the passphrase'));
    restored.decodePkcs8(WORKER_PASSPHRASE);
    assert.equal(u8aToHex(restored.publicKey), u8aToHex(decodeAddress(workerAddress)));
    // The provider's price policy and result server for this test.
    let text = fs.readFileSync(config, 'utf8');
    text = text
      .replace(/^cpu_slots = .*$/m, 'cpu_slots = 1')
      .replace(/^cpu_price = .*$/m, `cpu_price = "${PRICE} planck"`)
      .replace(/^units_per_second = .*$/m, 'units_per_second = 10000000000')
      .replace(/^listen = .*$/m, `listen = "${resultsUrl.slice('http://'.length)}"`)
      .replace(/^public_url = .*$/m, `public_url = "${resultsUrl}"`);
    fs.writeFileSync(config, text);

    await send(api.tx.balances.transferKeepAlive(operator, 200n * UNIT), alice, { finalized: true });
    // The worker host writes the registration (no secret in it); the operator signs and sends it.
    const made = cli('register');
    assert.match(made, /stratus provider register registration\.json/);
    const registration = path.join(dir, 'registration.json');
    // A registration tampered with (another worker key claimed) is refused before any fee.
    const tampered = JSON.parse(fs.readFileSync(registration, 'utf8'));
    tampered.worker = alice.address;
    fs.writeFileSync(path.join(dir, 'tampered.json'), JSON.stringify(tampered));
    const stateBefore = (await api.query.system.account(operator)).toHex();
    r = await asOperator(['provider', 'register', path.join(dir, 'tampered.json')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /proof of consent does not verify/);
    assert.equal((await api.query.system.account(operator)).toHex(), stateBefore);
    r = await asOperator(['provider', 'register', registration]);
    assert.equal(r.status, 0, r.stderr);
    const registered = r.stdout;
    assert.match(registered, /registered provider/);
    assert.match(registered, /to the worker key for fees/);
    const info = (await api.query.providerStaking.providers(operator)).unwrap();
    assert.equal(info.stake.toBigInt(), 100n * UNIT);
    assert.equal(info.profile.region.toNumber(), REGION);
    assert.equal(u8aToString(info.profile.endpoint.unwrap()), resultsUrl);
    // Running it again changes nothing and says so.
    assert.match(cli('register'), /registered already/);
    r = await asOperator(['provider', 'register', registration]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /already registered/);
    assert.doesNotMatch(r.stdout, /profile/);
    // The result server moved: the file made again carries the new endpoint, and registering
    // again updates the profile on chain (no offer holds slots yet); then moved back the same way.
    const setUrl = (url) => fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(/^public_url = .*$/m, `public_url = "${url}"`));
    const endpointOnChain = async () => u8aToString((await api.query.providerStaking.providers(operator)).unwrap().profile.endpoint.unwrap());
    const moved = `http://127.0.0.1:${await freePort()}`;
    setUrl(moved);
    cli('register');
    r = await asOperator(['provider', 'register', registration]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(`updated its profile to the file's (result endpoint ${moved}, was ${resultsUrl})`), r.stdout);
    await waitFor('the moved endpoint on chain', async () => (await endpointOnChain()) === moved, 30_000);
    setUrl(resultsUrl);
    cli('register');
    r = await asOperator(['provider', 'register', registration]);
    assert.equal(r.status, 0, r.stderr);
    await waitFor('the endpoint moved back on chain', async () => (await endpointOnChain()) === resultsUrl, 30_000);

    assert.match(cli('offer'), /posted Cpu offer: 1 slots/);
    const status = JSON.parse(cli('status', '--json'));
    assert.equal(status.registered, true);
    assert.equal(status.offers.length, 1);
    assert.equal(status.offers[0].open, true);
  });

  let first;
  const data = new TextEncoder().encode('stratus end-to-end ');
  test('a posted WASM job is run by the worker, verified on chain and paid', async () => {
    startWorker();
    const code = program();
    const programHash = blake2AsHex(code);
    await send(api.tx.market.registerProgram('Wasm', u8aToHex(code)), requester);
    const before = (await api.query.system.account(operator)).data.free.toBigInt();
    first = await submitJob(programHash, kernelInput(3, data), 200_000_000);
    const status = await settled(first, 180_000);
    const output = expectedOutput(3, data);
    assert.equal(status.phase.Settled.digest, blake2AsHex(output), 'canonical digest = blake2(output)');
    const replica = status.replicas[0];
    assert.equal(u8aToHex(decodeAddress(replica.provider)), u8aToHex(decodeAddress(operator)));
    // The node's market_* answers write accounts in the chain's own SS58 format (7007).
    assert.equal(replica.provider, encodeAddress(decodeAddress(operator), 7007));
    assert.ok(BigInt(replica.paid) > 0n, 'the provider was paid');
    const afterPaid = (await api.query.system.account(operator)).data.free.toBigInt();
    assert.ok(afterPaid > before, 'the operator account received the payment');
    // It failed over from the dead first endpoint to the live one.
    assert.ok(fs.readFileSync(workerLog, 'utf8').includes(`connected to ${URL}`));
  });

  test('the requester downloads the output with a signed request; others are refused', async () => {
    const output = expectedOutput(3, data);
    // The worker serves an output once it sees, in a finalized block, the job settled on its
    // digest and its replica paid; the settlement seen here may not be final yet (404 until then).
    const response = await waitFor('the worker to serve the output', async () => {
      const r = await download(first, requester);
      return r.status === 404 ? undefined : r;
    }, 30_000, 250);
    assert.equal(response.status, 200, await response.clone().text());
    const body = new Uint8Array(await response.arrayBuffer());
    assert.deepEqual(body, output);
    const status = await jobStatus(first);
    assert.equal(response.headers.get('x-stratus-digest'), status.phase.Settled.digest);
    assert.equal(blake2AsHex(body), status.phase.Settled.digest);

    // Encrypted to an X25519 key of the requester's (docs/provider-guide.md): a libsodium sealed
    // box, opened here by libsodium itself; only that key's holder can read it, and it opens to
    // the same output.
    await sodium.ready;
    const box = sodium.crypto_box_keypair();
    const sealedResponse = await download(first, requester, { boxKey: box.publicKey });
    assert.equal(sealedResponse.status, 200);
    assert.equal(sealedResponse.headers.get('x-stratus-encryption'), 'libsodium-sealedbox');
    const sealed = new Uint8Array(await sealedResponse.arrayBuffer());
    assert.equal(sealed.length, output.length + sodium.crypto_box_SEALBYTES);
    assert.deepEqual(sodium.crypto_box_seal_open(sealed, box.publicKey, box.privateKey), output);
    const stranger = sodium.crypto_box_keypair();
    assert.throws(() => sodium.crypto_box_seal_open(sealed, stranger.publicKey, stranger.privateKey));

    const other = await download(first, alice);
    assert.equal(other.status, 403);
    const unsigned = await download(first, requester, { sign: false });
    assert.equal(unsigned.status, 401);
    // A request is good once, and only for this chain and this worker.
    const once = downloadHeaders(first, requester);
    assert.equal((await download(first, requester, { headers: once })).status, 200);
    const replayed = await download(first, requester, { headers: once });
    assert.equal(replayed.status, 401);
    assert.match(await replayed.text(), /already used/);
    const otherChain = await download(first, requester, { genesis: u8aToHex(new Uint8Array(32).fill(1)) });
    assert.equal(otherChain.status, 401);
    const otherWorker = await download(first, requester, { endpoint: 'http://127.0.0.1:1' });
    assert.equal(otherWorker.status, 401);
    const metrics = await (await fetch(`${resultsUrl}/metrics`)).text();
    assert.match(metrics, /stratus_worker_output_downloads_total\{result="served"\} 3/);
    assert.match(metrics, /stratus_worker_jobs_executed_total\{outcome="ok"\} 1/);
  });

  test('a worker killed mid-job and started again still ends with a verified, paid job', async () => {
    const code = program();
    const programHash = blake2AsHex(code);
    await send(api.tx.market.registerProgram('Wasm', u8aToHex(code)), requester);
    const big = randomAsU8a(1 << 15);
    // 2.6 GB hashed: about 14 s of work at the executor's ~190 MB/s, ~2e11 units.
    const rounds = 80_000;
    const job = await submitJob(programHash, kernelInput(rounds, big), 400_000_000_000);
    // Wait until the worker runs the job, give it two seconds, then kill it outright.
    const running = new RegExp(`running job=${job} `);
    await waitFor('the worker to start the job', () => running.test(fs.readFileSync(workerLog, 'utf8')), 120_000, 250);
    await new Promise((r) => setTimeout(r, 2000));
    worker.kill('SIGKILL');
    await worker.exited;
    const stateAfterKill = (await jobStatus(job)).replicas[0].state;
    assert.notEqual(stateAfterKill, 'Revealed', 'killed before the job finished');
    startWorker();
    const status = await settled(job, 240_000);
    assert.equal(status.phase.Settled.digest, blake2AsHex(expectedOutput(rounds, big)));
    assert.ok(BigInt(status.replicas[0].paid) > 0n);
    const response = await waitFor('the worker to serve the output', async () => {
      const r = await download(job, requester);
      return r.status === 404 ? undefined : r;
    }, 30_000, 250);
    assert.equal(response.status, 200);
    assert.equal(blake2AsHex(new Uint8Array(await response.arrayBuffer())), status.phase.Settled.digest);
  });

  /// The verification pallet's `method` events for `job` in the finalized blocks from `from` on.
  async function eventsOf(job, method, from) {
    const to = (await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead())).number.toNumber();
    let found = 0;
    for (let n = from; n <= to; n += 1) {
      const at = await api.at(await api.rpc.chain.getBlockHash(n));
      for (const { event } of await at.query.system.events()) {
        if (event.section === 'verification' && event.method === method && event.data.job.toNumber() === job) found += 1;
      }
    }
    return found;
  }

  test('a worker that crashes right after each stage is on disk resumes, and the replica settles with one commit', async () => {
    const code = program();
    const programHash = blake2AsHex(code);
    await send(api.tx.market.registerProgram('Wasm', u8aToHex(code)), requester);
    // The running worker stops first (SIGTERM: a clean stop).
    worker.kill('SIGTERM');
    assert.equal((await worker.exited).code, 0);
    for (const stage of ['running', 'computed', 'committed', 'revealed']) {
      // The worker aborts (no cleanup, like a power cut) right after this replica's record reached
      // `stage` on disk (store.rs, STRATUS_WORKER_CRASH_AT).
      startWorker({ STRATUS_WORKER_CRASH_AT: stage });
      const from = (await api.rpc.chain.getHeader()).number.toNumber();
      const data = new TextEncoder().encode(`crash at ${stage} `);
      const job = await submitJob(programHash, kernelInput(3, data), 200_000_000);
      const crashed = await Promise.race([
        worker.exited,
        new Promise((r) => setTimeout(() => r('still running'), 180_000)),
      ]);
      assert.equal(crashed.signal, 'SIGABRT', `the worker crashed at ${stage}: ${JSON.stringify(crashed)}\n${tail(workerLog)}`);
      assert.match(tail(workerLog), new RegExp(`crashing at stage ${stage}`, 'i'));
      startWorker();
      const status = await settled(job, 240_000);
      assert.equal(status.phase.Settled.digest, blake2AsHex(expectedOutput(3, data)), stage);
      assert.ok(BigInt(status.replicas[0].paid) > 0n, `paid after a crash at ${stage}`);
      // One commit and one reveal: the restarted worker carried on from the record, it did not
      // compute or commit a second result.
      await waitFor('the settlement to be finalized', async () => (await eventsOf(job, 'ReplicaRevealed', from)) > 0, 60_000);
      assert.equal(await eventsOf(job, 'ReplicaCommitted', from), 1, `commits after a crash at ${stage}`);
      assert.equal(await eventsOf(job, 'ReplicaRevealed', from), 1, `reveals after a crash at ${stage}`);
      const response = await waitFor('the worker to serve the output', async () => {
        const r = await download(job, requester);
        return r.status === 404 ? undefined : r;
      }, 30_000, 250);
      assert.equal(blake2AsHex(new Uint8Array(await response.arrayBuffer())), status.phase.Settled.digest);
      if (stage !== 'revealed') {
        worker.kill('SIGTERM');
        assert.equal((await worker.exited).code, 0);
      }
    }
  });

  const cliData = new TextEncoder().encode('stratus CLI end-to-end ');
  let cliAccount;
  /// The CLI account's nonce and balances: unchanged when nothing was sent.
  const cliAccountState = async () => {
    const { nonce, data } = await api.query.system.account(cliAccount.address);
    return `${nonce.toNumber()}/${data.free.toBigInt()}/${data.reserved.toBigInt()}`;
  };
  test('a requester submits a job from a manifest with the stratus CLI, follows it to settlement and downloads the verified output', async () => {
    const suri = `//CliRequester${Math.floor(Math.random() * 1e9)}`;
    cliAccount = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 }).addFromUri(suri);
    await send(api.tx.balances.transferKeepAlive(cliAccount.address, 100n * UNIT), alice, { finalized: true });
    let r = await stratus(['account', 'import', 'requester'], `${suri}\n`);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(cliAccount.address), r.stdout);
    assert.equal(fs.statSync(path.join(keystore, 'requester.json')).mode & 0o777, 0o600);

    // A program nobody registered yet (the kernel with a random custom section): the CLI
    // registers it on submission.
    fs.writeFileSync(path.join(dir, 'sha256.wasm'), program());
    fs.writeFileSync(path.join(dir, 'input.bin'), kernelInput(2, cliData));
    fs.writeFileSync(path.join(dir, 'job.toml'), [
      'program = "sha256.wasm"',
      'input = { file = "input.bin" }',
      `max_price = "${PRICE} planck"`,
      'max_units = 200_000_000',
      // One worker on this chain: the default, adaptive, would wait for a second provider to
      // check it (the zombienet network runs a default-policy job on two).
      'policy = "unverified"',
      'deadline = "20m"',
      'commit_window = "3m"',
      'max_output = "1 KiB"',
      '[requirements]',
      `regions_allowed = [${REGION}]`,
      '',
    ].join('\n'));
    // As docs/requester-guide.md says: submit, follow, and return with the verified output.
    const waited = path.join(dir, 'waited.bin');
    r = await stratus(['job', 'submit', path.join(dir, 'job.toml'), '--wait', '-o', waited]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}\n${tail(workerLog)}`);
    const job = Number(r.stdout.match(/job (\d+) posted/)?.[1]);
    assert.ok(Number.isInteger(job), r.stdout);
    assert.match(r.stdout, /registered program 0x/);
    assert.match(r.stdout, /policy unverified: one replica and NO verification/);
    assert.match(r.stdout, /expected cost: at most .* at the best price; worst case /);
    let at = 0;
    for (const step of ['matched', 'acknowledged', 'committed', 'revealed', 'verified', 'settled', 'final', 'downloaded']) {
      const found = r.stdout.indexOf(step, at);
      assert.ok(found >= 0, `the progress shows "${step}" after the previous steps:\n${r.stdout}`);
      at = found;
    }
    // Each step with the block it appeared in and the time since the command started.
    assert.match(r.stdout, new RegExp(`job ${job}: \\[#\\d+ \\+\\d+\\.\\d s\\] replica 0 \\(.*\\): committed`));
    assert.deepEqual(new Uint8Array(fs.readFileSync(waited)), expectedOutput(2, cliData));

    // `job result` downloads it again, checked against the chain's digest.
    const out = path.join(dir, 'out.bin');
    r = await stratus(['job', 'result', String(job), '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /matches the chain's canonical digest/);
    assert.deepEqual(new Uint8Array(fs.readFileSync(out)), expectedOutput(2, cliData));

    const status = JSON.parse((await stratus(['--json', 'job', 'status', String(job)])).stdout);
    assert.equal(status.phase.Settled.digest, blake2AsHex(expectedOutput(2, cliData)));
    const list = JSON.parse((await stratus(['--json', 'job', 'list'])).stdout);
    assert.deepEqual(list.map((j) => j.job), [job]);
    const market = JSON.parse((await stratus(['--json', 'market'])).stdout);
    assert.ok(market.classes.some((c) => c.class === 'cpu' && c.levels.some((l) => l.price === String(PRICE))));
    const providers = JSON.parse((await stratus(['--json', 'provider', 'list'])).stdout);
    const mine = providers.find((p) => p.operator === operator);
    assert.ok(mine, JSON.stringify(providers));
    assert.equal(mine.endpoint, resultsUrl);
    assert.equal(mine.region, REGION);
  });

  test('stratus job why explains an unmatched job, cancel refunds it, and bad manifests are refused before anything is sent', async () => {
    const manifest = path.join(dir, 'why.toml');
    const base = [
      `program = "${blake2AsHex(fs.readFileSync(path.join(dir, 'sha256.wasm')))}"`,
      'input = { text = "abcd" }',
      `max_price = "${PRICE} planck"`,
      'max_units = 100_000_000',
      'deadline = "20m"',
      '[requirements]',
      `regions_allowed = [${REGION}]`,
    ];
    fs.writeFileSync(manifest, [...base, 'min_cpu_cores = 4096', ''].join('\n'));
    let r = await stratus(['job', 'submit', '--detach', manifest]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no open offer meets this job's requirements/);
    const job = Number(r.stdout.match(/job (\d+) posted/)?.[1]);
    // The same, for scripts: one JSON document.
    r = await stratus(['--json', 'job', 'submit', '--detach', manifest]);
    assert.equal(r.status, 0, r.stderr);
    const posted = JSON.parse(r.stdout);
    assert.equal(posted.job, job + 1);
    assert.equal(posted.bestPrice, null);
    // The default policy, adaptive, holds its worst case: two replicas and three referees.
    assert.equal(posted.policy, 'adaptive');
    assert.equal(posted.escrow, String(PRICE * 100_000_000n * 5n));
    assert.equal(posted.worstCaseCost, posted.escrow);
    assert.equal((await stratus(['job', 'cancel', String(posted.job)])).status, 0);
    r = await stratus(['job', 'watch', '999999']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /there is no job 999999 on this chain/);
    r = await stratus(['job', 'why', String(job)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /waits for 1 replica/);
    // This run's worker is the only provider in REGION; offers left by the market tests are
    // excluded by region as well.
    assert.match(r.stdout, /\d+ offer\(s\) have fewer CPU cores than requirements.min_cpu_cores/);
    const why = JSON.parse((await stratus(['--json', 'job', 'why', String(job)])).stdout);
    assert.equal(why.eligible, 0);
    assert.ok(why.excludedBy.some(([req, n]) => req === 'minCpuCores' && n >= 1), JSON.stringify(why));
    r = await stratus(['job', 'cancel', String(job)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`job ${job} cancelled: .* refunded`));
    // A call the runtime refuses is shown with the error's documentation from the metadata.
    r = await stratus(['job', 'cancel', String(job)]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cancelling the job failed: Market::JobFinished: The job has already ended\./);

    const before = await cliAccountState();
    fs.writeFileSync(path.join(dir, 'big.bin'), new Uint8Array(70 * 1024));
    const cases = [
      [base.filter((l) => !l.startsWith('max_units')), /missing field `max_units`/],
      [[...base.slice(0, 5), 'max_unit = 5', ...base.slice(5)], /unknown field `max_unit`/],
      [base.map((l) => (l.startsWith('max_price') ? `max_price = "${PRICE - 1n} planck"` : l)),
        new RegExp(`below the best price .*\\(${PRICE} planck per unit\\); raise max_price to at least "${PRICE} planck"`)],
      [base.map((l) => (l.startsWith('deadline') ? 'deadline = "30s"' : l)), /deadline is too short: .* write deadline = "\d+s" or more/],
      [base.map((l) => (l.startsWith('input') ? 'input = { file = "big.bin" }' : l)), /input is too large: .* at most 65536 bytes inline/],
      // Units that would not pay for compiling the program (4,096 a byte): out of units on
      // every worker before the first instruction.
      [base.map((l) => (l.startsWith('max_units') ? 'max_units = 1_000_000' : l)),
        new RegExp(`max_units 1000000 does not cover compiling the program: every worker charges ${4096 * fs.statSync(path.join(dir, 'sha256.wasm')).size} units`)],
    ];
    for (const [lines, expected] of cases) {
      fs.writeFileSync(manifest, [...lines, ''].join('\n'));
      r = await stratus(['job', 'submit', manifest]);
      assert.notEqual(r.status, 0, lines.join('\n'));
      assert.match(r.stderr, expected);
    }
    // `program register` refuses locally what the chain (or every worker) would refuse.
    // A valid program (the kernel) padded past the chain's 2 MiB with a custom section.
    const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
    const padding = new Uint8Array(2 * 1024 * 1024);
    const custom = Buffer.concat([Buffer.from([0, ...leb(2 + padding.length), 1, 0x78]), padding]);
    const tooLargeCode = Buffer.concat([fs.readFileSync(path.join(dir, 'sha256.wasm')), custom]);
    const tooLarge = path.join(dir, 'too-large.wasm');
    fs.writeFileSync(tooLarge, tooLargeCode);
    r = await stratus(['program', 'register', tooLarge]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`too-large\\.wasm is refused: it is ${tooLargeCode.length} bytes; the chain stores programs of at most 2097152 bytes`));
    const junk = path.join(dir, 'junk.wasm');
    fs.writeFileSync(junk, Buffer.from('\0asm\x01\0\0\0\x01\xff', 'latin1'));
    r = await stratus(['program', 'register', junk]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /junk\.wasm is refused: /);
    assert.equal(await cliAccountState(), before, 'nothing was sent for a refused manifest or program');
  });

  test('stratus program remove retires a program: new jobs with it are refused, and it is deleted only from its removable block on', async () => {
    // A program of this run's own: the kernel with a custom section ("rm"), so its hash is new.
    const file = path.join(dir, 'retiring.wasm');
    fs.writeFileSync(file, Buffer.concat([fs.readFileSync(path.join(dir, 'sha256.wasm')), Buffer.from([0, 3, 2, 0x72, 0x6d])]));
    let r = await stratus(['--json', 'program', 'register', file]);
    assert.equal(r.status, 0, r.stderr);
    const { program } = JSON.parse(r.stdout);
    const head = (await api.rpc.chain.getHeader()).number.toNumber();
    r = await stratus(['program', 'remove', program]);
    assert.equal(r.status, 0, r.stderr);
    const removableAt = Number(r.stdout.match(/is retiring: no new job may use it; run `stratus program remove` again from block (\d+) to delete it and get its deposit of .* back/)?.[1]);
    // Every job that could run it ends first: removable MaxJobDuration (and a block) after the call.
    const retiredIn = removableAt - api.consts.market.maxJobDuration.toNumber() - 1;
    assert.ok(retiredIn > head && retiredIn <= head + 10, `${retiredIn} vs ${head}`);
    const info = (await api.query.market.programs(program)).unwrap();
    assert.equal(info.removableAt.unwrap().toNumber(), removableAt);
    // A job naming it is refused before anything is sent; so is removing it again too early.
    const before = await cliAccountState();
    const manifest = path.join(dir, 'retiring.toml');
    fs.writeFileSync(manifest, [`program = "${program}"`, 'input = { text = "abcd" }', `max_price = "${PRICE} planck"`,
      'max_units = 1_000_000', 'deadline = "20m"', ''].join('\n'));
    r = await stratus(['job', 'submit', '--detach', manifest]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`program ${program} is being removed by its owner, so no new job may use it \\(it is deleted from block ${removableAt} on`));
    r = await stratus(['program', 'remove', program]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`program ${program} is retiring: jobs submitted before may run it until block ${removableAt} \\(now \\d+\\); run \`stratus program remove\` again from then on`));
    r = await stratus(['program', 'remove', '0x1234']);
    assert.match(r.stderr, /`0x1234` is not a program hash: give 0x and 64 hex digits/);
    assert.equal(await cliAccountState(), before, 'nothing was sent for a refused job or removal');
    // The chain itself refuses a job with it (not only the CLI).
    const spec = {
      program, input: { Inline: '0x00' }, requirements: { minVramMib: 0, minComputeCapability: 0, gpuModels: [],
        regionsAllowed: [], regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0 },
      maxPrice: PRICE, maxUnits: 1000, policy: 'Unverified', commitWindow: 10,
      deadline: (await api.rpc.chain.getHeader()).number.toNumber() + 200, maxOutputBytes: 1024,
    };
    await assert.rejects(send(api.tx.market.submitJob(spec), requester), /market\.ProgramRetiring/);
  });

  test('SIGTERM stops the worker cleanly, and status reports the earnings', async () => {
    worker.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, 0, tail(workerLog));
    const status = JSON.parse(cli('status', '--json'));
    assert.notEqual(status.earned, '0 STRAT');
    // The three jobs of the tests above that ran on it, and the four of the crash test.
    assert.equal(status.jobs_in_store, 7);
  });
});
