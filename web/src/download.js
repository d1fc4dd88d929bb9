// A job's verified output from the worker that holds it, as `stratus job output` gets it
// (docs/provider-guide.md, "Downloading an output"): a GET signed by the job's requester for this
// chain, that worker's endpoint and a fresh nonce; the bytes are kept only when their blake2-256
// is the digest the chain settled on.

import { blake2AsHex, randomAsHex } from '@polkadot/util-crypto';
import { u8aToString } from '@polkadot/util';

/// The text a download request signs (`stratus-output/2`, client/src/auth.rs).
export function requestText(genesis, endpoint, job, at, nonce) {
  return `stratus-output/2:${genesis}:${endpoint}:${job}:${at}:${nonce}`;
}

/// The endpoints of the providers whose replicas revealed the settled digest, in replica order.
export async function holders({ api }, job) {
  const digest = job.phase?.settled?.digest ?? job.phase?.Settled?.digest;
  if (!digest) return { digest: null, endpoints: [] };
  const providers = [...new Set(job.replicas.filter((r) => r.digest === digest).map((r) => r.provider))];
  const infos = await Promise.all(providers.map((p) => api.query.providerStaking.providers(p)));
  const endpoints = infos
    .map((info, i) => ({ provider: providers[i], info }))
    .filter(({ info }) => info.isSome && info.unwrap().profile.endpoint.isSome)
    .map(({ provider, info }) => ({ provider, endpoint: u8aToString(info.unwrap().profile.endpoint.unwrap()).replace(/\/$/, '') }));
  return { digest, endpoints };
}

/// Downloads job `job`'s output signed by `account` (an account of accounts.js: its `signText`);
/// tries each holder in turn, and all of them again (`tries` times, `pauseMs` apart) while every
/// one answers 404 (a worker serves an output once it has seen the settlement final). Resolves with
/// `{ bytes, endpoint, provider, digest }` for output whose digest matches; rejects with every
/// worker's answer when none gave it.
export async function downloadOutput(conn, job, account, { fetcher = fetch, now = Date.now, tries, pauseMs = 500, timeoutMs = 30_000 } = {}) {
  // A wallet asks its user at every signature: asked once, not again while workers catch up.
  tries ??= account.silent ? 20 : 1;
  const { digest, endpoints } = await holders(conn, job);
  if (!digest) throw new Error(`job ${job.job} has not settled: there is no verified output to download yet`);
  if (endpoints.length === 0) throw new Error('no provider that revealed the settled result names a result endpoint');
  for (let attempt = 1; ; attempt++) {
    const { got, problems, notYet } = await tryEach(conn, job, account, digest, endpoints, fetcher, now, timeoutMs);
    if (got) return got;
    if (!notYet || attempt >= tries) throw new Error(`no worker gave the verified output: ${problems.join('; ')}`);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/// The body of `answer`, or null when it is longer than `limit` bytes (read no further: a worker
/// cannot fill the page's memory); with `truncate`, its first `limit` bytes instead of null.
export async function readAtMost(answer, limit, truncate = false) {
  const declared = Number(answer.headers.get('content-length'));
  if (!truncate && Number.isFinite(declared) && declared > limit) {
    await answer.body?.cancel();
    return null;
  }
  const reader = answer.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > limit) {
      await reader.cancel();
      if (!truncate) return null;
      chunks.push(value.subarray(0, limit - length));
      length = limit;
      break;
    }
    length += value.length;
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

async function tryEach(conn, job, account, digest, endpoints, fetcher, now, timeoutMs) {
  const genesis = conn.api.genesisHash.toHex();
  const problems = [];
  let notYet = true;
  for (const { provider, endpoint } of endpoints) {
    const at = now();
    const nonce = randomAsHex(16);
    try {
      const signature = await account.signText(requestText(genesis, endpoint, job.job, at, nonce));
      // A worker that stalls is left after `timeoutMs`, the next one asked.
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      const answer = await fetcher(`${endpoint}/jobs/${job.job}/output`, {
        signal: abort.signal,
        headers: {
          'x-stratus-account': account.address,
          'x-stratus-timestamp': String(at),
          'x-stratus-nonce': nonce,
          'x-stratus-signature': signature,
        },
      });
      if (!answer.ok) {
        clearTimeout(timer);
        notYet &&= answer.status === 404;
        // Its first 200 bytes, never more (an endless error page costs nothing).
        const said = (await readAtMost(answer, 200, true)) ?? new Uint8Array();
        problems.push(`${endpoint} answered ${answer.status}: ${new TextDecoder().decode(said)}`);
        continue;
      }
      const bytes = await readAtMost(answer, job.maxOutputBytes).finally(() => clearTimeout(timer));
      if (bytes === null) {
        notYet = false;
        problems.push(`${endpoint} sent more than the job's ${job.maxOutputBytes}-byte output bound: refused`);
        continue;
      }
      const got = blake2AsHex(bytes, 256);
      if (got !== digest) {
        notYet = false;
        problems.push(`${endpoint} sent ${bytes.length} bytes whose digest ${got} is not the settled ${digest}: refused`);
        continue;
      }
      return { got: { bytes, endpoint, provider, digest } };
    } catch (e) {
      notYet = false;
      problems.push(`${endpoint}: ${e.message}`);
    }
  }
  return { problems, notYet };
}
