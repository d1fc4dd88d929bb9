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
//   paid job; SIGTERM stops it cleanly;
// - the config names a dead endpoint before the live one: commands and daemon fail over.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { u8aConcat, u8aToHex, u8aToString } from '@polkadot/util';
import {
  blake2AsHex, blake2AsU8a, cryptoWaitReady, decodeAddress, naclDecrypt, randomAsU8a,
} from '@polkadot/util-crypto';

const URL = process.env.STRATUS_WS ?? 'ws://127.0.0.1:9944';
const WORKER = process.env.STRATUS_WORKER;
const KERNEL = process.env.STRATUS_KERNEL_WASM;
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

/// Signs and sends `tx`; resolves once it is in a block (or, with `finalized`, in a finalized one:
/// the worker's commands read the finalized state).
function send(tx, signer, { finalized = false } = {}) {
  return new Promise((resolve, reject) => {
    let unsub;
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        unsub?.();
        const meta = dispatchError.isModule && api.registry.findMetaError(dispatchError.asModule);
        reject(new Error(meta ? `${meta.section}.${meta.name}` : dispatchError.toString()));
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        unsub?.();
        reject(new Error(`transaction ${status.type}`));
      } else if (finalized ? status.isFinalized : status.isInBlock) {
        unsub?.();
        resolve({ events });
      }
    }).then((u) => { unsub = u; }, reject);
  });
}

function eventData(events, section, method) {
  return events.find(({ event: e }) => e.section === section && e.method === method)?.event.data;
}

/// Runs a `stratus-worker` command to completion; returns its stdout, fails on a non-zero exit.
function cli(...args) {
  const out = spawnSync(WORKER, ['--config', config, ...args], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(out.status, 0, `stratus-worker ${args.join(' ')} failed:\n${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function startWorker() {
  const log = fs.openSync(workerLog, 'a');
  worker = spawn(WORKER, ['--config', config, 'run'], { stdio: ['ignore', log, log] });
  worker.exited = new Promise((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal })));
}

async function waitFor(what, check, timeoutMs, everyMs = 1000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}; worker log: ${workerLog}\n${tail(workerLog)}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function tail(file) {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-40).join('\n'); } catch { return ''; }
}

async function jobStatus(job) {
  return ws.send('market_jobStatus', [job]);
}

/// The kernel with a random custom section appended, so each run registers a new program.
function program() {
  const code = fs.readFileSync(KERNEL);
  const name = new TextEncoder().encode('run');
  const payload = u8aConcat(Uint8Array.of(name.length), name, randomAsU8a(16));
  return u8aConcat(code, Uint8Array.of(0, payload.length), payload);
}

/// The kernel's input: rounds (u32 LE) then data; its output: SHA-256 of data repeated rounds times.
function kernelInput(rounds, data) {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, rounds, true);
  return u8aConcat(header, data);
}

function expectedOutput(rounds, data) {
  const hash = createHash('sha256');
  for (let i = 0; i < rounds; i++) hash.update(data);
  return new Uint8Array(hash.digest());
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
    maxPrice: 1,
    maxUnits,
    replication: 1,
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

async function download(job, signer, { sign = true, boxKey } = {}) {
  const headers = {};
  if (boxKey) headers['x-stratus-box-key'] = u8aToHex(boxKey);
  if (sign) {
    const at = Date.now();
    const text = `stratus-output:${job}:${at}${boxKey ? `:${u8aToHex(boxKey)}` : ''}`;
    const signature = signer.sign(new TextEncoder().encode(text));
    headers['x-stratus-account'] = signer.address;
    headers['x-stratus-timestamp'] = String(at);
    headers['x-stratus-signature'] = u8aToHex(signature);
  }
  return fetch(`${resultsUrl}/jobs/${job}/output`, { headers });
}

before(async () => {
  assert.ok(WORKER && fs.existsSync(WORKER), `STRATUS_WORKER (${WORKER}) is the worker binary`);
  assert.ok(KERNEL && fs.existsSync(KERNEL), `STRATUS_KERNEL_WASM (${KERNEL}) is the kernel`);
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
    const out = cli('init', '--endpoint', dead, '--endpoint', URL, '--region', String(REGION));
    operator = out.match(/operator account: (\S+)/)?.[1];
    assert.ok(operator, out);
    assert.equal(fs.statSync(path.join(dir, 'keys.toml')).mode & 0o777, 0o600);
    // The provider's price policy and result server for this test.
    let text = fs.readFileSync(config, 'utf8');
    text = text
      .replace(/^cpu_slots = .*$/m, 'cpu_slots = 1')
      .replace(/^cpu_price = .*$/m, 'cpu_price = "1 planck"')
      .replace(/^units_per_second = .*$/m, 'units_per_second = 10000000000')
      .replace(/^listen = .*$/m, `listen = "${resultsUrl.slice('http://'.length)}"`)
      .replace(/^public_url = .*$/m, `public_url = "${resultsUrl}"`);
    fs.writeFileSync(config, text);

    await send(api.tx.balances.transferKeepAlive(operator, 200n * UNIT), alice, { finalized: true });
    const registered = cli('register');
    assert.match(registered, /registered provider/);
    assert.match(registered, /to the worker key for fees/);
    const info = (await api.query.providerStaking.providers(operator)).unwrap();
    assert.equal(info.stake.toBigInt(), 100n * UNIT);
    assert.equal(info.profile.region.toNumber(), REGION);
    assert.equal(u8aToString(info.profile.endpoint.unwrap()), resultsUrl);
    // Running it again changes nothing and says so.
    assert.match(cli('register'), /already registered/);

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
    first = await submitJob(programHash, kernelInput(3, data), 50_000_000);
    const status = await settled(first, 180_000);
    const output = expectedOutput(3, data);
    assert.equal(status.phase.Settled.digest, blake2AsHex(output), 'canonical digest = blake2(output)');
    const replica = status.replicas[0];
    assert.equal(u8aToHex(decodeAddress(replica.provider)), u8aToHex(decodeAddress(operator)));
    assert.ok(BigInt(replica.paid) > 0n, 'the provider was paid');
    const afterPaid = (await api.query.system.account(operator)).data.free.toBigInt();
    assert.ok(afterPaid > before, 'the operator account received the payment');
    // It failed over from the dead first endpoint to the live one.
    assert.ok(fs.readFileSync(workerLog, 'utf8').includes(`connected to ${URL}`));
  });

  test('the requester downloads the output with a signed request; others are refused', async () => {
    const output = expectedOutput(3, data);
    // The worker serves an output once its reveal is in a block; the settlement seen here is in
    // that same block, so the worker may take a moment to notice (404 until then).
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

    // Encrypted to an X25519 key of the requester's (docs/provider-guide.md): only that key's
    // holder can read it, and it decrypts to the same output.
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const boxKey = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
    const sealedResponse = await download(first, requester, { boxKey });
    assert.equal(sealedResponse.status, 200);
    assert.equal(sealedResponse.headers.get('x-stratus-encryption'), 'x25519-blake2-xsalsa20poly1305');
    const sealed = new Uint8Array(await sealedResponse.arrayBuffer());
    assert.notDeepEqual(sealed.subarray(56), output);
    const ephemeral = sealed.subarray(0, 32);
    const x25519Spki = Buffer.from('302a300506032b656e032100', 'hex');
    const shared = diffieHellman({
      privateKey,
      publicKey: createPublicKey({ key: Buffer.concat([x25519Spki, ephemeral]), format: 'der', type: 'spki' }),
    });
    const key = blake2AsU8a(u8aConcat(new TextEncoder().encode('stratus-output-key'), shared, ephemeral, boxKey));
    assert.deepEqual(naclDecrypt(sealed.subarray(56), sealed.subarray(32, 56), key), output);

    const other = await download(first, alice);
    assert.equal(other.status, 403);
    const unsigned = await download(first, requester, { sign: false });
    assert.equal(unsigned.status, 401);
    const metrics = await (await fetch(`${resultsUrl}/metrics`)).text();
    assert.match(metrics, /stratus_worker_output_downloads_total\{result="served"\} 2/);
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

  test('SIGTERM stops the worker cleanly, and status reports the earnings', async () => {
    worker.kill('SIGTERM');
    const { code } = await worker.exited;
    assert.equal(code, 0, tail(workerLog));
    const status = JSON.parse(cli('status', '--json'));
    assert.notEqual(status.earned, '0 STRAT');
    assert.equal(status.jobs_in_store, 2);
  });
});
