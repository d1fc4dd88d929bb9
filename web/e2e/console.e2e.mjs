// The console in a real browser (Debian's Chromium, driven by playwright-core) against a real
// node: the page built by `vite build`, served by `vite preview`, reading the chain over
// WebSocket like any visitor's browser. Run by scripts/test (suite "web console") with
// STRATUS_WS set to a dev node; screenshots go to $CONSOLE_SHOTS (default e2e/shots).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, randomAsU8a } from '@polkadot/util-crypto';
import { inBlock } from '../src/tx.js';
// The JavaScript tests' helpers (tests/js, installed by scripts/setup beside this package).
import { freePort } from '../../tests/js/lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const WS = process.env.STRATUS_WS;
const SHOTS = process.env.CONSOLE_SHOTS ?? path.join(here, 'shots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const UNIT = 10n ** 12n;

let api;
let alice;
let server;
let browser;
let page;
let base;

/// Signs and sends `tx`; resolves with its events once in a block, rejects on a dispatch error.
function send(tx, signer) {
  return inBlock(api, (cb) => tx.signAndSend(signer, cb));
}

/// A valid empty WASM module made unique by a custom section (a program is registered once).
function uniqueProgram() {
  const salt = randomAsU8a(8);
  const name = new TextEncoder().encode('salt');
  const section = u8aConcat([0, 1 + name.length + salt.length, name.length], name, salt);
  return u8aConcat(hexToU8a('0x0061736d01000000'), section);
}

/// Posts a job no offer can serve (a region nobody is in); resolves with its id.
async function postImpossibleJob(program) {
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  const spec = {
    program,
    input: { Inline: u8aToHex(new TextEncoder().encode('console')) },
    requirements: {
      minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [999],
      regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0, minReputation: 0,
    },
    maxPrice: 5n * UNIT / 1000n,
    maxUnits: 1000,
    policy: 'Unverified',
    commitWindow: 20,
    deadline: best + 300,
    maxOutputBytes: 1024,
  };
  const events = await send(api.tx.market.submitJob(spec), alice);
  const submitted = events.find(({ event }) => event.section === 'market' && event.method === 'JobSubmitted');
  return submitted.event.data.job.toNumber();
}

before(async () => {
  assert.ok(WS, 'STRATUS_WS names the node to test against');
  await cryptoWaitReady();
  api = await ApiPromise.create({ provider: new WsProvider(WS, 1000), noInitWarn: true, throwOnConnect: true });
  alice = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 }).addFromUri('//Alice');
  const port = await freePort();
  base = `http://127.0.0.1:${port}/`;
  server = spawn(path.join(here, '..', 'node_modules', '.bin', 'vite'), ['preview', '--port', String(port), '--strictPort'], {
    cwd: path.join(here, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = Date.now();
  for (;;) {
    try {
      const r = await fetch(base);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() - started < 30_000, 'vite preview did not serve the console within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGINT');
  await api?.disconnect();
});

const consoleAt = (fragment) => `${base}?endpoint=${encodeURIComponent(WS)}${fragment}`;

test('the network page follows the chain live: blocks move without a reload', async () => {
  await page.goto(consoleAt('#/network'));
  const best = page.getByTestId('best');
  await best.waitFor({ timeout: 30_000 });
  const first = Number((await best.textContent()).slice(1));
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid=best]').textContent.slice(1)) > n,
    first,
    { timeout: 20_000 },
  );
  const finalized = Number((await page.getByTestId('finalized').textContent()).slice(1));
  assert.ok(finalized >= 0 && finalized <= first + 5, `finalized #${finalized} near best #${first}`);
  assert.equal(await page.getByTestId('validators').textContent(), '1'); // the dev chain: Alice
  await page.waitForFunction(() => !document.querySelector('[data-testid=block-time]').textContent.startsWith('—'), null, { timeout: 20_000 });
  await page.screenshot({ path: path.join(SHOTS, 'network.png') });
});

test('a job posted while its page is open appears without a reload, with why nothing serves it', async () => {
  const code = uniqueProgram();
  const registered = await send(api.tx.market.registerProgram('Wasm', u8aToHex(code)), alice);
  const program = registered.find(({ event }) => event.method === 'ProgramRegistered').event.data.program.toHex();
  const next = (await api.query.market.nextJobId()).toNumber();
  await page.goto(consoleAt(`#/jobs/${next}`));
  await page.getByRole('status').filter({ hasText: `No job ${next}` }).waitFor({ timeout: 20_000 });
  const id = await postImpossibleJob(program);
  assert.equal(id, next, 'nobody else posts on this dev node meanwhile');
  await page.getByTestId('phase').filter({ hasText: 'open' }).waitFor({ timeout: 20_000 });
  const why = page.getByRole('note');
  await why.waitFor({ timeout: 20_000 });
  // In the CLI's words: no offer at all (a fresh dev node), or every offer in another region
  // (the provider test's offer, on a node this test ran against before).
  assert.match(
    await why.textContent(),
    /There are no open WASM offers with a free slot|offer\(s\) are in regions the job does not allow/,
  );
  assert.match(await page.textContent('main'), /unverified/);
  await page.screenshot({ path: path.join(SHOTS, 'job.png') });
  // The job list, newest first: this job at the top, open; cancelled at the block that cancels it.
  await page.goto(consoleAt('#/jobs'));
  const row = page.getByTestId(`list-phase-${id}`);
  await row.filter({ hasText: 'open' }).waitFor({ timeout: 20_000 });
  await page.screenshot({ path: path.join(SHOTS, 'jobs.png') });
  await send(api.tx.market.cancelJob(id), alice);
  await row.filter({ hasText: 'cancelled' }).waitFor({ timeout: 20_000 });
  await page.goto(consoleAt(`#/jobs/${id}`));
  await page.getByTestId('phase').filter({ hasText: 'cancelled' }).waitFor({ timeout: 20_000 });
});

test('a provider registered and offering shows on the providers list and its own page, live', async () => {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  const provider = keyring.addFromUri(`//ConsoleProvider/${u8aToHex(randomAsU8a(4))}`);
  await send(api.tx.balances.transferKeepAlive(provider.address, 1_000n * UNIT), alice);
  await page.goto(consoleAt(`#/providers/${provider.address}`));
  // Not registered yet: the page says so, then shows it at the block that registers it.
  await page.getByRole('status').filter({ hasText: 'is not a registered provider' }).waitFor({ timeout: 20_000 });
  const profile = {
    kinds: ['Wasm'], gpus: [], cpuCores: 8, memoryMib: 16_384, region: 276, endpoint: 'http://127.0.0.1:8780',
  };
  await send(api.tx.providerStaking.register(provider.address, profile, 50n * UNIT, null), provider);
  await page.getByTestId('stake').filter({ hasText: '50 STRAT' }).waitFor({ timeout: 20_000 });
  const best = (await api.rpc.chain.getHeader()).number.toNumber();
  await send(api.tx.market.postOffer('Cpu', 2n * UNIT / 1000n, 2, best + 1000), provider);
  const offers = page.getByTestId('offers');
  await offers.waitFor({ timeout: 20_000 });
  assert.match(await offers.textContent(), /0\.002 STRAT/);
  assert.match(await page.getByTestId('slashes').textContent(), /None pending, none applied/);
  await page.screenshot({ path: path.join(SHOTS, 'provider.png') });
  await page.goto(consoleAt('#/providers'));
  await page.locator(`a[href="#/providers/${provider.address}"]`).waitFor({ timeout: 20_000 });

  // The market page: the offer in the WASM book at its price, a depth chart, matches per block.
  await page.goto(consoleAt('#/market'));
  const wasm = page.getByTestId('book-Wasm');
  await wasm.locator(`a[href="#/providers/${provider.address}"]`).waitFor({ timeout: 20_000 });
  assert.match(await page.getByTestId('best-Wasm').textContent(), /Best price 0\.002 STRAT per unit/);
  await wasm.getByRole('img', { name: /depth chart/ }).locator('canvas').first().waitFor({ timeout: 20_000 });
  await page.getByTestId('matches').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(SHOTS, 'market.png'), fullPage: true });
});

test('a job posted from the page: its program registered from a file, a bad entry refused with nothing sent, the price shown', async () => {
  await page.goto(consoleAt('#/submit'));
  await page.getByRole('combobox', { name: 'account' }).locator('option', { hasText: 'Alice (dev account)' }).waitFor({ state: 'attached', timeout: 20_000 });
  // The program, registered from the page (a file the user picks).
  const file = path.join(SHOTS, 'program.wasm');
  fs.writeFileSync(file, uniqueProgram());
  await page.locator('input[type=file]').setInputFiles(file);
  await page.getByText(/^program 0x[0-9a-f]{64} is registered$/).waitFor({ timeout: 30_000 });
  const hash = await page.locator('input[name=program]').inputValue();
  assert.ok((await api.query.market.programs(hash)).isSome, 'registered on chain');

  const before = (await api.query.market.nextJobId()).toNumber();
  await page.locator('input[name=maxUnits]').fill('100000');
  await page.locator('input[name=regions]').fill('999');
  await page.locator('input[name=maxPrice]').fill('abc');
  const fix = page.getByRole('alert', { name: 'what to fix' });
  await fix.filter({ hasText: 'max price: "abc" is not an amount: write e.g. "0.002 STRAT"' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByRole('button', { name: 'Post the job' }).isDisabled(), true);
  await page.locator('input[name=maxUnits]').fill('10');
  await fix.filter({ hasText: 'does not cover compiling the program' }).waitFor({ timeout: 20_000 });
  assert.equal((await api.query.market.nextJobId()).toNumber(), before, 'a refused form sends nothing');

  await page.locator('input[name=maxUnits]').fill('100000');
  await page.locator('input[name=maxPrice]').fill('0.005 STRAT');
  const price = page.getByTestId('price');
  await price.waitFor({ timeout: 20_000 });
  assert.match(await price.textContent(), /worst case 2500 STRAT \(max price × max units × 5 replicas/);
  await page.screenshot({ path: path.join(SHOTS, 'submit.png') });
  await page.getByRole('button', { name: 'Post the job' }).click();
  await page.waitForURL(new RegExp(`#/jobs/${before}$`), { timeout: 30_000 });
  await page.getByTestId('phase').filter({ hasText: 'open' }).waitFor({ timeout: 20_000 });
  // On chain as the form said: Alice's, adaptive, 0.005 STRAT a unit, 100000 units, region 999.
  const posted = (await api.query.market.jobs(before)).unwrap();
  assert.equal(posted.requester.toString(), alice.address);
  assert.equal(posted.policy.toString(), 'Adaptive');
  assert.equal(posted.maxPrice.toBigInt(), 5n * UNIT / 1000n);
  assert.equal(posted.maxUnits.toNumber(), 100_000);
  await send(api.tx.market.cancelJob(before), alice);
});

test('a job id that is not a number is refused on the page, and nothing is asked of the node', async () => {
  await page.goto(consoleAt('#/jobs'));
  await page.getByLabel('Job id').fill('12; drop');
  await page.getByRole('button', { name: 'Show' }).click();
  assert.match(await page.getByRole('alert').textContent(), /"12; drop" is not a job id/);
  assert.ok(page.url().endsWith('#/jobs'), page.url());
});
