// The console in a real browser (Debian's Chromium, driven by playwright-core) against a real
// node and two providers' real workers: the page built by `vite build`, served by `vite preview`,
// reading the chain over WebSocket like any visitor's browser. Run by scripts/test (suite "web
// console") with STRATUS_WS set to a dev node and STRATUS_WORKER, STRATUS_CLI and
// STRATUS_KERNEL_WASM to the worker, the CLI and the SHA-256 kernel; screenshots go to
// $CONSOLE_SHOTS (default e2e/shots).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { hexToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady, randomAsU8a } from '@polkadot/util-crypto';
import { inBlock } from '../src/tx.js';
// The JavaScript tests' helpers (tests/js, installed by scripts/setup beside this package).
import { expectedOutput, freePort, kernelInput, run, withCustomSection } from '../../tests/js/lib.mjs';
import { startWorker, tail } from './workers.mjs';
import os from 'node:os';

const here = path.dirname(fileURLToPath(import.meta.url));
const WS = process.env.STRATUS_WS;
const SHOTS = process.env.CONSOLE_SHOTS ?? path.join(here, 'shots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const UNIT = 10n ** 12n;
const WORKER = process.env.STRATUS_WORKER;
const CLI = process.env.STRATUS_CLI;
const KERNEL = process.env.STRATUS_KERNEL_WASM;
// The two providers, as scripts/run-local starts them: operator, region, price per unit (planck).
const PROVIDERS = [
  { name: 'eve', region: 276, price: 1000 },
  { name: 'ferdie', region: 250, price: 1200 },
];
const workers = [];
let pageJob;
let rpcProvider;
let dir;

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
  return withCustomSection(hexToU8a('0x0061736d01000000'), 'salt', 8);
}

/// Fills the "Post a job" form on `tab` for the SHA-256 kernel: the kernel (made unique by a
/// section `name`) registered from a file, its input (`rounds` of `data`) from a file, the policy,
/// the max price, 200,000,000 units and the regions.
async function fillKernelJob(tab, { name, rounds, data, policy, maxPrice, regions }) {
  const program = path.join(dir, `${name}.wasm`);
  fs.writeFileSync(program, withCustomSection(fs.readFileSync(KERNEL), name, 16));
  await tab.locator('input[name=programFile]').setInputFiles(program);
  await tab.getByText(/^program 0x[0-9a-f]{64} is registered$/).waitFor({ timeout: 30_000 });
  const input = path.join(dir, `${name}-input.bin`);
  fs.writeFileSync(input, kernelInput(rounds, data));
  await tab.locator('input[name=inputFile]').setInputFiles(input);
  await tab.locator('input[name=policy]').fill(policy);
  await tab.locator('input[name=maxPrice]').fill(maxPrice);
  await tab.locator('input[name=maxUnits]').fill('200000000');
  await tab.locator('input[name=regions]').fill(regions);
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
  for (const [name, file] of [['STRATUS_WORKER', WORKER], ['STRATUS_CLI', CLI], ['STRATUS_KERNEL_WASM', KERNEL]]) {
    assert.ok(file && fs.existsSync(file), `${name} (${file}) names a built file`);
  }
  await cryptoWaitReady();
  rpcProvider = new WsProvider(WS, 1000);
  api = await ApiPromise.create({ provider: rpcProvider, noInitWarn: true, throwOnConnect: true });
  alice = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 }).addFromUri('//Alice');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratus-console-'));
  for (const p of PROVIDERS) {
    workers.push(await startWorker({ ws: WS, dir, worker: WORKER, cli: CLI, port: await freePort(), ...p }));
  }
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
  page.on('console', (m) => m.type() === 'error' && console.error(`page console: ${m.text()}`));
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  for (const w of workers) w.process.kill('SIGTERM');
  const exited = (w) => new Promise((r) => (w.process.exitCode !== null || w.process.signalCode !== null ? r() : w.process.on('exit', r)));
  const late = (w) => new Promise((r) => setTimeout(() => (w.process.kill('SIGKILL'), r()), 10_000).unref());
  await Promise.all(workers.map((w) => Promise.race([exited(w), late(w)])));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
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

test('the market page shows both workers\' offers at their prices, the cheaper first', async () => {
  await page.goto(consoleAt('#/market'));
  const wasm = page.getByTestId('book-Wasm');
  for (const w of workers) {
    await wasm.locator(`a[href="#/providers/${w.operator}"]`).waitFor({ timeout: 60_000 });
  }
  const rows = await wasm.locator('tbody tr').allTextContents();
  const eve = rows.findIndex((r) => r.includes('1000 planck'));
  const ferdie = rows.findIndex((r) => r.includes('1200 planck'));
  assert.ok(eve >= 0 && ferdie > eve, `Eve's 1000 planck above Ferdie's 1200 planck: ${rows.join(' | ')}`);
  assert.match(rows[eve], /2 \/ 2/, 'two free CPU slots');
  assert.match(await page.getByTestId('best-Wasm').textContent(), /Best price 1000 planck per unit; 4 free slot\(s\)/);
});

test('a job posted from the page is matched, verified and settled, each phase shown, and its output downloads verified', async () => {
  await page.goto(consoleAt('#/submit'));
  await page.getByRole('combobox', { name: 'account' }).locator('option', { hasText: 'Alice (dev account)' }).waitFor({ state: 'attached', timeout: 20_000 });
  const data = new TextEncoder().encode('the console asks for a hash ');
  await fillKernelJob(page, {
    name: 'console', rounds: 3, data, policy: 'replicated(2)', maxPrice: '1200 planck', regions: '276, 250',
  });
  await page.getByText(/console-input\.bin: 32 bytes, sent inline instead of the text/).waitFor({ timeout: 10_000 });
  // Two replicas at the best price (Eve's 1000 planck), three if a referee is needed.
  await page.getByTestId('price').filter({ hasText: 'expected cost at the best price: 0.4 STRAT to 0.6 STRAT' }).waitFor({ timeout: 20_000 });
  const id = (await api.query.market.nextJobId()).toNumber();
  pageJob = id;
  await page.getByRole('button', { name: 'Post the job' }).click();
  await page.waitForURL(new RegExp(`#/jobs/${id}$`), { timeout: 30_000 });
  // Every phase the page shows, as it shows them (no reload: the page follows the chain).
  await page.evaluate(() => {
    window.seenPhases = [];
    const note = () => {
      const phase = document.querySelector('[data-testid=phase]')?.textContent;
      if (phase && window.seenPhases.at(-1) !== phase) window.seenPhases.push(phase);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const phase = page.getByTestId('phase');
  try {
    await phase.filter({ hasText: 'settled' }).waitFor({ timeout: 120_000 });
  } catch (e) {
    throw new Error(`job ${id} did not settle: ${e.message}\n${workers.map((w) => `${w.name}:\n${tail(w.log)}`).join('\n')}`);
  }
  const seen = await page.evaluate(() => window.seenPhases);
  // The page followed a live job: it showed a phase before `settled` (at 3-second blocks the
  // job settles some blocks after it is posted), and got to `settled` without a reload.
  assert.ok(seen.length >= 2 && seen[0] !== 'settled', `phases seen: ${seen.join(' → ')}`);
  assert.equal(await page.getByTestId('requirements').textContent(), 'regions 276, 250 only');
  // The timeline names every step with its block, in order: matched to both workers, committed,
  // revealed, both paid, settled with what came back.
  const timeline = page.getByTestId('timeline');
  await timeline.filter({ hasText: 'settled on digest' }).waitFor({ timeout: 20_000 });
  const steps = (await timeline.locator('li').allTextContents()).map((t) => t.replace(/^#\d+ /, ''));
  const order = [/^posted by/, /^replica \d matched to/, /committed to a result/, /revealed digest/, /paid .* \(network fee/, /^settled on digest/];
  let at = 0;
  for (const step of order) {
    const found = steps.findIndex((s, i) => i >= at && step.test(s));
    assert.ok(found >= 0, `${step} after step ${at} in the timeline:\n${steps.join('\n')}`);
    at = found;
  }
  assert.equal(steps.filter((s) => /matched to/.test(s)).length, 2, 'two replicas');
  assert.equal(steps.filter((s) => /paid .* \(network fee/.test(s)).length, 2, 'both providers paid');
  assert.match(await page.getByTestId('cost').textContent(), /held at posting; .* paid to providers and .* in network fees; .* refunded$/);
  // On chain as the page says: both replicas agreed and were paid.
  const status = await rpcProvider.send('market_jobStatus', [id]);
  assert.ok(status.replicas.every((r) => BigInt(r.paid) > 0n), JSON.stringify(status.replicas));
  await page.screenshot({ path: path.join(SHOTS, 'job.png'), fullPage: true });

  // The output, signed for by Alice's dev account, checked against the digest, then saved.
  await page.getByRole('button', { name: /Download the output \(signed by Alice/ }).click();
  const got = page.getByTestId('output');
  await got.or(page.locator('.download [role=alert]')).waitFor({ timeout: 20_000 });
  assert.ok(await got.isVisible(), `the download failed: ${await page.locator('.download').textContent()}`);
  assert.match(await got.textContent(), /^32 bytes from http:\/\/127\.0\.0\.1:\d+; their blake2-256 is the settled digest 0x[0-9a-f]{64}/);
  const [download] = await Promise.all([page.waitForEvent('download'), got.getByRole('link', { name: `Save job-${id}.out` }).click()]);
  const saved = fs.readFileSync(await download.path());
  assert.deepEqual(new Uint8Array(saved), expectedOutput(3, data), 'the SHA-256 the kernel computes');
});

test('a browser wallet (the injected-accounts interface) signs the program, the job and the download', async () => {
  // A wallet as polkadot.js extension, Talisman and SubWallet inject it (window.injectedWeb3),
  // whose key is held here: the page's real @polkadot/extension-dapp finds it, lists its account
  // and has it sign the calls (signPayload) and the download request (signRaw, wrapped in <Bytes>).
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  const wallet = keyring.addFromUri(`//ConsoleWallet/${u8aToHex(randomAsU8a(4))}`);
  await send(api.tx.balances.transferKeepAlive(wallet.address, 100n * UNIT), alice);
  const tab = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  tab.on('pageerror', (e) => console.error(`wallet tab error: ${e.message}`));
  const signed = { payloads: 0, raw: 0 };
  await tab.exposeFunction('walletSignPayload', (json) => {
    signed.payloads += 1;
    const payload = JSON.parse(json);
    return api.registry.createType('ExtrinsicPayload', payload, { version: payload.version }).sign(wallet).signature;
  });
  await tab.exposeFunction('walletSignRaw', (data) => {
    signed.raw += 1;
    return u8aToHex(wallet.sign(u8aWrapBytes(hexToU8a(data))));
  });
  await tab.addInitScript((address) => {
    const account = { address, name: 'Test wallet account', type: 'sr25519' };
    window.injectedWeb3 = {
      'console-test-wallet': {
        version: '1.0.0',
        enable: async () => ({
          accounts: { get: async () => [account], subscribe: (cb) => (cb([account]), () => {}) },
          signer: {
            signPayload: async (payload) => ({ id: 1, signature: await window.walletSignPayload(JSON.stringify(payload)) }),
            signRaw: async (raw) => ({ id: 2, signature: await window.walletSignRaw(raw.data) }),
          },
        }),
      },
    };
  }, wallet.address);
  await tab.goto(consoleAt('#/submit'));
  await tab.getByRole('combobox', { name: 'account' }).locator('option', { hasText: 'Alice (dev account)' }).waitFor({ state: 'attached', timeout: 20_000 });
  await tab.getByRole('button', { name: 'Connect a browser wallet' }).click();
  const option = tab.getByRole('combobox', { name: 'account' }).locator('option', { hasText: 'Test wallet account (console-test-wallet)' });
  await option.waitFor({ state: 'attached', timeout: 20_000 });
  assert.match(await option.textContent(), new RegExp(wallet.address));
  const data = new TextEncoder().encode('signed by a wallet ');
  await fillKernelJob(tab, { name: 'wallet', rounds: 2, data, policy: 'unverified', maxPrice: '1000 planck', regions: '276' });
  await tab.getByTestId('price').waitFor({ timeout: 20_000 });
  const id = (await api.query.market.nextJobId()).toNumber();
  await tab.getByRole('button', { name: 'Post the job' }).click();
  await tab.waitForURL(new RegExp(`#/jobs/${id}$`), { timeout: 30_000 });
  assert.equal((await api.query.market.jobs(id)).unwrap().requester.toString(), wallet.address, 'the wallet\'s account posted it');
  assert.equal(signed.payloads, 2, 'the wallet signed the registration and the job');
  await tab.getByTestId('phase').filter({ hasText: 'settled' }).waitFor({ timeout: 120_000 });
  await tab.getByRole('button', { name: /Download the output \(signed by Test wallet account/ }).click();
  const got = tab.getByTestId('output');
  await got.or(tab.locator('.download [role=alert]')).waitFor({ timeout: 30_000 });
  assert.ok(await got.isVisible(), `the download failed: ${await tab.locator('.download').textContent()}`);
  assert.equal(signed.raw, 1, 'the wallet signed the download request');
  const [download] = await Promise.all([tab.waitForEvent('download'), got.getByRole('link').click()]);
  assert.deepEqual(new Uint8Array(fs.readFileSync(await download.path())), expectedOutput(2, data));
  await tab.close();
});

test('a job submitted with the CLI appears on the open job list without a reload, and settles there', async () => {
  await page.goto(consoleAt('#/jobs'));
  const next = (await api.query.market.nextJobId()).toNumber();
  await page.getByText(`${next} job(s) posted on this chain`).waitFor({ timeout: 20_000 });
  const keystore = path.join(dir, 'requester');
  const env = { STRATUS_PASSPHRASE: 'console test requester' };
  const cli = (args, input = '') => run(CLI, ['--endpoint', WS, '--keystore', keystore, ...args], { env, input });
  let r = await cli(['account', 'import', 'bob'], '//Bob\n');
  assert.equal(r.status, 0, r.stderr);
  const program = path.join(dir, 'cli.wasm');
  fs.writeFileSync(program, withCustomSection(fs.readFileSync(KERNEL), 'cli', 16));
  const manifest = path.join(dir, 'job.toml');
  fs.writeFileSync(
    manifest,
    [
      `program = "${program}"`,
      'input = { text = "\\u0001\\u0000\\u0000\\u0000from the CLI" }',
      'max_price = "1000 planck"',
      'max_units = 200_000_000',
      'policy = "unverified"',
      'deadline = "200 blocks"',
      '[requirements]',
      'regions_allowed = [276]',
      '',
    ].join('\n'),
  );
  r = await cli(['--account', 'bob', 'job', 'submit', manifest, '--detach', '--json']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const id = JSON.parse(r.stdout).job;
  assert.ok(id >= next, `job ${id}`);
  const row = page.getByTestId(`list-phase-${id}`);
  await row.waitFor({ timeout: 20_000 });
  await row.filter({ hasText: 'settled' }).waitFor({ timeout: 120_000 });
});

test('the node\'s index of finalized blocks: a requester\'s jobs, a provider\'s earnings and results, prices over the last hours', async () => {
  // Alice's jobs: the one she posted from the page, settled.
  await page.goto(consoleAt('#/jobs'));
  await page.getByLabel('Requester').fill('not an account');
  await page.getByRole('button', { name: 'Their jobs' }).click();
  assert.match(await page.getByRole('alert').textContent(), /"not an account" is not an account: write its SS58 address/);
  await page.getByLabel('Requester').fill(alice.address);
  await page.getByRole('button', { name: 'Their jobs' }).click();
  await page.waitForURL(new RegExp(`#/jobs/by/${alice.address}$`));
  await page.getByTestId(`requester-phase-${pageJob}`).filter({ hasText: 'settled' }).waitFor({ timeout: 30_000 });
  assert.match(await page.getByRole('status').textContent(), /job\(s\) by .* in blocks #\d+–#\d+ \(finalized/);
  // Eve's page: what she earned for it, and the result.
  const eve = workers[0];
  await page.goto(consoleAt(`#/providers/${eve.operator}`));
  const results = page.getByTestId('results');
  await results.locator(`a[href="#/jobs/${pageJob}"]`).waitFor({ timeout: 30_000 });
  assert.match(await results.textContent(), /earned [0-9.]+ STRAT for [1-9]\d* paid replica\(s\); 0 offence\(s\) reported/);
  await page.screenshot({ path: path.join(SHOTS, 'provider.png'), fullPage: true });
  // The market's price history: the page's two replicas (1000 and 1200 planck) and the CLI's.
  await page.goto(consoleAt('#/market'));
  const history = page.getByTestId('history-Wasm');
  await history.filter({ hasText: /: ([3-9]|[1-9]\d+) replica\(s\) matched/ }).waitFor({ timeout: 30_000 });
  assert.match(await history.textContent(), /from 1000 planck to 1200 planck per unit/);
  await history.getByRole('img', { name: /price per unit over time/ }).locator('canvas').first().waitFor({ timeout: 20_000 });
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
  await page.screenshot({ path: path.join(SHOTS, 'job-why.png') });
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
  await page.screenshot({ path: path.join(SHOTS, 'provider-registered.png') });
  await page.goto(consoleAt('#/providers'));
  await page.locator(`a[href="#/providers/${provider.address}"]`).waitFor({ timeout: 20_000 });

  // The market page: the offer in the WASM book at its price, a depth chart, matches per block.
  await page.goto(consoleAt('#/market'));
  const wasm = page.getByTestId('book-Wasm');
  await wasm.locator(`a[href="#/providers/${provider.address}"]`).waitFor({ timeout: 20_000 });
  // Beside the two workers' cheaper offers: its row at its price.
  assert.match(await wasm.textContent(), /0\.002 STRAT/);
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
  await page.locator('input[name=programFile]').setInputFiles(file);
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
  // Enter in the form (a submit the disabled button cannot stop) sends nothing either.
  await page.locator('input[name=maxPrice]').press('Enter');
  await page.waitForTimeout(4_000); // a block: a sent job would be in it
  assert.equal((await api.query.market.nextJobId()).toNumber(), before, 'Enter on a refused form sends nothing');
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
