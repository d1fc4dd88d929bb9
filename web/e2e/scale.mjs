// The console with 10,000 offers, 10,000 providers and 10,000 jobs (docs/console.md, "At scale"):
// each page timed in headless Chromium on the dev node at $STRATUS_WS, first as it is (the
// baseline, a few of each), then after the chain's storage is filled with copies of one real
// provider, offer and job (sudo(system.setStorage), in chunks), in the same run. Prints, per page,
// the time from navigation to its content, the DOM size and the JS heap, and the ratios to the
// baseline, and the node's time for the reads behind them; exits non-zero when a page's content
// takes more than 3 s or a list holds more than 200 rows (why nothing serves a job, which the node
// answers by walking up to 10,000 offers, is timed but not held to it).
// Run by scripts/bench-console, which starts the node and serves the page.
//
//   STRATUS_WS=ws://… CONSOLE_URL=http://… node e2e/scale.mjs [N]

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright-core';
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, encodeAddress, randomAsU8a } from '@polkadot/util-crypto';
import { inBlock } from '../src/tx.js';
import { withCustomSection } from '../../tests/js/lib.mjs';

const WS = process.env.STRATUS_WS;
const URL_ = process.env.CONSOLE_URL;
const N = Number(process.argv[2] ?? 10_000);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const UNIT = 10n ** 12n;
/// A page must show its content within this, with any amount of state (docs/console.md).
const LIMIT_MS = 3_000;
const MAX_ROWS = 200;

assert.ok(WS && URL_, 'STRATUS_WS and CONSOLE_URL name the node and the served console');
assert.ok(Number.isSafeInteger(N) && N > 0, 'N is a number of offers and jobs');
await cryptoWaitReady();
const ws = new WsProvider(WS, 1000);
const api = await ApiPromise.create({ provider: ws, noInitWarn: true, throwOnConnect: true });
const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
const alice = keyring.addFromUri('//Alice');
const send = (tx, signer) => inBlock(api, (cb) => tx.signAndSend(signer, cb));

/// One real provider, offer and job (resting: a region no offer is in), the templates.
async function templates() {
  const provider = keyring.addFromUri(`//ScaleProvider/${u8aToHex(randomAsU8a(4))}`);
  await send(api.tx.balances.transferKeepAlive(provider.address, 1_000n * UNIT), alice);
  const profile = { kinds: ['Wasm'], gpus: [], cpuCores: 8, memoryMib: 16_384, region: 276, endpoint: 'http://127.0.0.1:9' };
  await send(api.tx.providerStaking.register(provider.address, profile, 50n * UNIT, null), provider);
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const offered = await send(api.tx.market.postOffer('Cpu', 5n * UNIT, 2, best + 100_000), provider);
  const offer = offered.find(({ event }) => event.method === 'OfferPosted').event.data.offer.toNumber();
  const code = withCustomSection(hexToU8a('0x0061736d01000000'), 'salt', 8);
  const registered = await send(api.tx.market.registerProgram('Wasm', u8aToHex(code)), alice);
  const program = registered.find(({ event }) => event.method === 'ProgramRegistered').event.data.program.toHex();
  const spec = {
    program, input: { Inline: '0x01' },
    requirements: { minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [999], regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0, minReputation: 0 },
    maxPrice: 1_000_000n, maxUnits: 1_000_000, policy: 'Unverified', commitWindow: 20, deadline: best + 10_000, maxOutputBytes: 1024,
  };
  const submitted = await send(api.tx.market.submitJob(spec), alice);
  const job = submitted.find(({ event }) => event.method === 'JobSubmitted').event.data.job.toNumber();
  return { provider: provider.address, offer, job };
}

/// The type of a storage map's values, for createType.
const valueType = (entry) => api.registry.createLookupType(entry.creator.meta.type.asMap.value);

/// Storage items that make `n` more providers with an offer each and `n` more jobs, copies of the
/// templates (offers at distinct prices above the real ones, so the real ones stay on top).
async function copies(t, n) {
  const q = api.query;
  const info = (await q.providerStaking.providers(t.provider)).unwrap().toJSON();
  const offer = (await q.market.offers(t.offer)).unwrap().toJSON();
  const job = (await q.market.jobs(t.job)).unwrap().toJSON();
  const firstOffer = (await q.market.nextOfferId()).toNumber();
  const firstJob = (await q.market.nextJobId()).toNumber();
  const items = [];
  const put = (key, type, value) => items.push([key, u8aToHex(api.createType(type, value).toU8a())]);
  for (let i = 0; i < n; i++) {
    const account = encodeAddress(createHash('sha256').update(`stratus-console-scale-${i}`).digest(), api.registry.chainSS58);
    const id = firstOffer + i;
    const price = 10n * UNIT + BigInt(i);
    put(q.providerStaking.providers.key(account), valueType(q.providerStaking.providers), { ...info, worker: account });
    put(q.market.offers.key(id), valueType(q.market.offers), { ...offer, provider: account, price: price.toString(), jobs: [] });
    put(q.market.providerOffers.key(account), valueType(q.market.providerOffers), [id]);
    const bookKey = new Uint8Array(24);
    new DataView(bookKey.buffer).setBigUint64(0, price >> 64n);
    new DataView(bookKey.buffer).setBigUint64(8, price & ((1n << 64n) - 1n));
    new DataView(bookKey.buffer).setBigUint64(16, BigInt(id));
    items.push([q.market.offerBook.key('Wasm', bookKey), '0x']);
    put(q.market.jobs.key(firstJob + i), valueType(q.market.jobs), job);
  }
  items.push([q.market.nextOfferId.key(), u8aToHex(api.createType('u64', firstOffer + n).toU8a())]);
  items.push([q.market.nextJobId.key(), u8aToHex(api.createType('u64', firstJob + n).toU8a())]);
  return items;
}

/// Writes `items` with sudo(system.setStorage), `chunk` at a time, four calls in flight (their
/// nonces numbered here: the pool's next index would give two calls in flight the same one).
async function write(items, chunk = 1_000) {
  let nonce = (await api.rpc.system.accountNextIndex(alice.address)).toNumber();
  const calls = [];
  for (let i = 0; i < items.length; i += chunk) calls.push(api.tx.sudo.sudo(api.tx.system.setStorage(items.slice(i, i + chunk))));
  for (let i = 0; i < calls.length; i += 4) {
    await Promise.all(calls.slice(i, i + 4).map((c) => inBlock(api, (cb) => c.signAndSend(alice, { nonce: nonce++ }, cb))));
  }
}

/// Times each page: navigation to content, DOM nodes, JS heap.
async function measure(browser) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const at = (fragment) => `${URL_}?endpoint=${encodeURIComponent(WS)}${fragment}`;
  const next = (await api.query.market.nextJobId()).toNumber();
  const providers = Math.min(50, (await api.query.providerStaking.providers.keys()).length);
  const pages = [
    ['market (the WASM book, depth chart)', '#/market', async () => page.getByTestId('best-Wasm').filter({ hasText: 'Best price' }).waitFor({ timeout: 60_000 })],
    ['jobs (the newest)', '#/jobs', async () => page.getByTestId(`list-phase-${next - 1}`).waitFor({ timeout: 60_000 })],
    [
      'jobs (scrolled to job 0)',
      null,
      async () => {
        await page.getByTestId('job-list').evaluate((el) => (el.scrollTop = el.scrollHeight));
        await page.getByTestId('list-phase-0').waitFor({ timeout: 60_000 });
      },
    ],
    ['providers (first page)', '#/providers', async () => page.locator('section[aria-label=providers] tbody tr').nth(providers - 1).waitFor({ timeout: 60_000 })],
    ['a job', `#/jobs/${Math.floor(next / 2)}`, async () => page.getByTestId('phase').waitFor({ timeout: 60_000 })],
    // Then, on the same page: its timeline, and why nothing serves it (the node walks the book:
    // timed, not held to the pages' target; the RPC's own time is printed below).
    ['a job: its timeline (read from its blocks)', null, async () => page.locator('.timeline').waitFor({ timeout: 60_000 })],
    ['a job: why nothing serves it', null, async () => page.getByRole('note').waitFor({ timeout: 60_000 })],
  ];
  const rows = [];
  for (const [name, fragment, ready] of pages) {
    const started = Date.now();
    if (fragment) await page.goto(at(fragment));
    await ready();
    const ms = Date.now() - started;
    const { metrics } = await cdp.send('Performance.getMetrics');
    const metric = (m) => metrics.find((x) => x.name === m)?.value ?? 0;
    const listRows = await page.locator('.joblist-row, section[aria-label=providers] tbody tr, [data-testid^=book-] tbody tr').count();
    rows.push({ name, ms, nodes: metric('Nodes'), heapMb: metric('JSHeapUsedSize') / 2 ** 20, listRows });
  }
  await page.close();
  return rows;
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
let failed = false;
try {
  const t = await templates();
  console.error(`templates: provider ${t.provider}, offer ${t.offer}, job ${t.job}`);
  const counts = async () => ({ jobs: (await api.query.market.nextJobId()).toNumber(), offers: (await api.query.market.nextOfferId()).toNumber() });
  const before = await counts();
  await measure(browser); // warm the page's bundle and the node's caches
  console.error('warmed');
  const baseline = await measure(browser);
  const written = Date.now();
  const items = await copies(t, N);
  console.error(`writing ${items.length} storage items`);
  await write(items);
  const after = await counts();
  console.log(`filled: ${items.length} storage items in ${((Date.now() - written) / 1000).toFixed(1)} s; jobs ${before.jobs} → ${after.jobs}, offers ${before.offers} → ${after.offers}, providers +${N}`);
  const scaled = await measure(browser);
  console.log(`\n${'page'.padEnd(38)} ${'baseline ms'.padStart(11)} ${`${N} ms`.padStart(9)} ${'ratio'.padStart(6)} ${'DOM nodes'.padStart(16)} ${'JS heap MiB'.padStart(14)} ${'list rows'.padStart(10)}`);
  for (let i = 0; i < baseline.length; i++) {
    const b = baseline[i];
    const s = scaled[i];
    console.log(
      `${s.name.padEnd(38)} ${String(b.ms).padStart(11)} ${String(s.ms).padStart(9)} ${(s.ms / Math.max(1, b.ms)).toFixed(2).padStart(6)} ${`${b.nodes} → ${s.nodes}`.padStart(16)} ${`${b.heapMb.toFixed(1)} → ${s.heapMb.toFixed(1)}`.padStart(14)} ${String(s.listRows).padStart(10)}`,
    );
    if (s.ms > LIMIT_MS && !s.name.includes('why nothing')) {
      console.log(`  ✗ ${s.name}: ${s.ms} ms, over the ${LIMIT_MS} ms target`);
      failed = true;
    }
    if (s.listRows > MAX_ROWS) {
      console.log(`  ✗ ${s.name}: ${s.listRows} rows in the page, over ${MAX_ROWS}: the list is not virtualised`);
      failed = true;
    }
  }
  // The node's own time for the reads behind the pages (median of 5), with N offers and jobs.
  const rpcMs = async (method, params) => {
    const times = [];
    for (let i = 0; i < 5; i++) {
      const started = process.hrtime.bigint();
      await ws.send(method, params);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return times.sort((a, b) => a - b)[2].toFixed(1);
  };
  console.log(`\nthe node's answers with ${N} offers and jobs (median of 5):`);
  for (const [method, params] of [
    ['market_jobStatus', [t.job, null]],
    ['market_whyNoMatch', [t.job, null]],
    ['market_bestPrice', ['Wasm', null, null]],
    ['market_priceHistory', ['Wasm', 120]],
  ]) {
    console.log(`  ${method.padEnd(22)} ${(await rpcMs(method, params)).padStart(8)} ms`);
  }
  console.log(failed ? '\nTARGETS MISSED' : `\nevery page within ${LIMIT_MS} ms and ${MAX_ROWS} list rows with ${N} offers, providers and jobs`);
} finally {
  await browser.close();
  await api.disconnect();
}
process.exit(failed ? 1 : 0);
