// What the end-to-end tests share: sending a transaction and reading its events, running a
// program and collecting its output, a free port, waiting for a condition, and the SHA-256
// kernel's input and output. Used by tests/js/*.test.mjs and zombienet/market.js (which loads it
// with `import()`). The dApp example (examples/dapp.mjs) keeps its own `send`: it is a document
// and must stand alone.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { u8aToHex } from '@polkadot/util';
import { randomAsU8a } from '@polkadot/util-crypto';

/// Signs and sends `tx` with `signer` through `api`; resolves once it is in a block (with
/// `finalized`, a finalized one) with that block's hash and the extrinsic's events. Rejects with
/// `section.Error: its docs` for a module error, the error itself otherwise, and the status for
/// a transaction the pool dropped.
export function send(api, tx, signer, { finalized = false } = {}) {
  return new Promise((resolve, reject) => {
    let unsub;
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        unsub?.();
        if (dispatchError.isModule) {
          const { section, name, docs } = api.registry.findMetaError(dispatchError.asModule);
          reject(new Error(`${section}.${name}: ${docs.join(' ')}`));
        } else {
          reject(new Error(dispatchError.toString()));
        }
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        unsub?.();
        reject(new Error(`transaction ${status.type}`));
      } else if (finalized ? status.isFinalized : status.isInBlock) {
        unsub?.();
        resolve({ blockHash: finalized ? status.asFinalized : status.asInBlock, events });
      }
    }).then((u) => { unsub = u; }, reject);
  });
}

/// The data of the first `section.method` event among `events`, or undefined.
export function eventData(events, section, method) {
  return events.find(({ event: e }) => e.section === section && e.method === method)?.event.data;
}

/// Runs `command` with `args`, `input` on its stdin and `env` added to this process's; resolves
/// to its exit status and output.
export function run(command, args, { env = {}, input = '' } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdin.end(input);
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
export function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/// Sets the slashing pallet's defer period to `blocks` through Root (`sudoer` signs a
/// sudo(slashing.setParams)), keeping the other parameters; resolves to a function that puts back
/// the parameters it found. The development and local chains defer a slash by two minutes; a
/// test that watches a slash applied (or cancelled in time) shortens that to a few blocks.
export async function shortenSlashDefer(api, sudoer, blocks) {
  const found = await api.query.slashing.params();
  if (found.isNone) throw new Error('the chain has no slashing parameters in storage');
  const params = found.unwrap().toJSON();
  const setParams = async (p) => {
    const { events } = await send(api, api.tx.sudo.sudo(api.tx.slashing.setParams(p)), sudoer);
    const sudid = eventData(events, 'sudo', 'Sudid');
    if (!sudid || sudid.sudoResult.isErr) throw new Error(`sudo(slashing.setParams) failed: ${sudid?.sudoResult}`);
  };
  await setParams({ ...params, deferPeriod: blocks });
  return () => setParams(params);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Calls `check` every `everyMs` until it returns something truthy, which it resolves to; after
/// `timeoutMs`, rejects naming `what` and whatever `detail()` adds (a log's tail).
export async function waitFor(what, check, timeoutMs, { everyMs = 1000, detail = () => '' } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${detail()}`);
    await sleep(everyMs);
  }
}

/// `code` (a WASM module) with a custom section `name` of `bytes` random bytes appended, so that
/// each run registers a program of its own (a program's hash is its id).
export function withCustomSection(code, name = 'salt', bytes = 16) {
  const label = new TextEncoder().encode(name);
  const payload = Buffer.concat([Uint8Array.of(label.length), label, randomBytes(bytes)]);
  return new Uint8Array(Buffer.concat([code, Uint8Array.of(0, payload.length), payload]));
}

/// The SHA-256 kernel's input: `rounds` (u32 little-endian), then `data`.
export function kernelInput(rounds, data) {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(rounds);
  return new Uint8Array(Buffer.concat([header, data]));
}

/// The SHA-256 kernel's output for `kernelInput(rounds, data)`: SHA-256 of `data` repeated
/// `rounds` times.
export function expectedOutput(rounds, data) {
  const hash = createHash('sha256');
  for (let i = 0; i < rounds; i++) hash.update(data);
  return new Uint8Array(hash.digest());
}

/// The headers of a request for job `job`'s output from the worker at `endpoint` (its results
/// URL) on the chain with genesis hash `genesis` (docs/provider-guide.md): signed by `signer` (an
/// sr25519 keyring pair) for that chain, that endpoint and a fresh nonce; `boxKey` (32 bytes)
/// asks for the output encrypted to it; `sign: false` leaves the signature out.
export function downloadHeaders(endpoint, genesis, job, signer, { sign = true, boxKey } = {}) {
  const headers = {};
  if (boxKey) headers['x-stratus-box-key'] = u8aToHex(boxKey);
  if (sign) {
    const at = Date.now();
    const nonce = u8aToHex(randomAsU8a(16));
    const text = `stratus-output/2:${genesis}:${endpoint}:${job}:${at}:${nonce}${boxKey ? `:${u8aToHex(boxKey)}` : ''}`;
    const signature = signer.sign(new TextEncoder().encode(text));
    headers['x-stratus-account'] = signer.address;
    headers['x-stratus-timestamp'] = String(at);
    headers['x-stratus-nonce'] = nonce;
    headers['x-stratus-signature'] = u8aToHex(signature);
  }
  return headers;
}

/// Asks the worker at `resultsUrl` for job `job`'s output with `headers` (`downloadHeaders`).
export function downloadWith(resultsUrl, job, headers) {
  return fetch(`${resultsUrl}/jobs/${job}/output`, { headers });
}
