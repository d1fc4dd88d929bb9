import { beforeAll, describe, expect, it } from 'vitest';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { downloadOutput, readAtMost, requestText } from '../src/download.js';

const good = new TextEncoder().encode('the verified output');
const digest = blake2AsHex(good, 256);
const job = {
  job: 7, maxOutputBytes: 64, phase: { Settled: { digest } },
  replicas: [
    { provider: 'fhA', digest },
    { provider: 'fhB', digest },
    { provider: 'fhC', digest: `0x${'00'.repeat(32)}` },
  ],
};
/// A connection whose providers name endpoints http://a and http://b (and http://c).
const conn = {
  api: {
    genesisHash: { toHex: () => `0x${'11'.repeat(32)}` },
    query: {
      providerStaking: {
        providers: async (p) => ({
          isSome: true,
          unwrap: () => ({ profile: { endpoint: { isSome: true, unwrap: () => new TextEncoder().encode(`http://${p.slice(2).toLowerCase()}/`) } } }),
        }),
      },
    },
  },
};
const account = { address: 'fhRequester', signText: async (text) => `signed:${text}` };

beforeAll(cryptoWaitReady);

describe('downloading a verified output', () => {
  it('signs the request for each worker, refuses bytes that are not the settled digest, keeps the next', async () => {
    const asked = [];
    const fetcher = async (url, { headers }) => {
      asked.push({ url, headers });
      return new Response(url.startsWith('http://a') ? new TextEncoder().encode('forged') : good);
    };
    const got = await downloadOutput(conn, job, account, { fetcher, now: () => 1_000 });
    expect(got.endpoint).toBe('http://b');
    expect(new TextDecoder().decode(got.bytes)).toBe('the verified output');
    // Only the holders of the settled digest are asked (not fhC), each with its own endpoint signed.
    expect(asked.map((a) => a.url)).toEqual(['http://a/jobs/7/output', 'http://b/jobs/7/output']);
    const h = asked[1].headers;
    expect(h['x-stratus-account']).toBe('fhRequester');
    expect(h['x-stratus-signature']).toBe(`signed:${requestText(`0x${'11'.repeat(32)}`, 'http://b', 7, 1000, h['x-stratus-nonce'])}`);
    expect(h['x-stratus-nonce']).not.toBe(asked[0].headers['x-stratus-nonce']);
  });

  it('asks again while every worker answers 404 (not final yet), then says what each said', async () => {
    let calls = 0;
    const fetcher = async () => (calls++, new Response('no paid output for job 7', { status: 404 }));
    await expect(downloadOutput(conn, job, account, { fetcher, tries: 3, pauseMs: 1 })).rejects.toThrow(
      /no worker gave the verified output: http:\/\/a answered 404: no paid output for job 7; http:\/\/b answered 404/,
    );
    expect(calls).toBe(6);
  });

  it('refuses a body longer than the job\'s output bound without reading it all', async () => {
    const big = new Uint8Array(65);
    expect(await readAtMost(new Response(big), 64)).toBe(null);
    expect((await readAtMost(new Response(big.subarray(0, 64)), 64)).length).toBe(64);
    const stream = new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(40)) }); // endless
    expect(await readAtMost(new Response(stream), 64)).toBe(null);
    const fetcher = async () => new Response(big);
    await expect(downloadOutput(conn, job, account, { fetcher })).rejects.toThrow(/sent more than the job's 64-byte output bound: refused/);
  });

  it('reads only the start of an endless error page, leaves a stalled worker, and asks a wallet once', async () => {
    const endless = () => new ReadableStream({ pull: (c) => c.enqueue(new TextEncoder().encode('x'.repeat(100))) });
    const fetcher = async (url, { signal }) =>
      url.startsWith('http://a')
        ? new Response(endless(), { status: 500 })
        : new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const wallet = { ...account, signText: async (t) => (wallet.signed = (wallet.signed ?? 0) + 1, `signed:${t}`) };
    const error = await downloadOutput(conn, job, wallet, { fetcher, timeoutMs: 50 }).catch((e) => e.message);
    expect(error).toMatch(/http:\/\/a answered 500: x{200}; http:\/\/b: no answer within 0.05 s/);
    expect(wallet.signed).toBe(2); // once per worker, no retry: a wallet would ask its user each time
  });

  it('refuses a job that has not settled', async () => {
    await expect(downloadOutput(conn, { ...job, phase: 'Open' }, account)).rejects.toThrow(/has not settled/);
  });
});
