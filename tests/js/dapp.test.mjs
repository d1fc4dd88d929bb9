// The dApp guide's example (tests/js/examples/dapp.mjs, shown whole in docs/dapp-guide.md) run
// against a real node at $STRATUS_WS: the runtime API and the market_* RPC methods agree, a job
// no offer can serve rests with market_whyNoMatch naming the requirement, and cancelling refunds
// the whole escrow. Also checks that the guide shows the file as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tour } from './examples/dapp.mjs';

const URL = process.env.STRATUS_WS ?? 'ws://127.0.0.1:9944';
const KERNEL = process.env.STRATUS_KERNEL_WASM;

test('docs/dapp-guide.md shows the example exactly as it is run', () => {
  const guide = fs.readFileSync(new globalThis.URL('../../docs/dapp-guide.md', import.meta.url), 'utf8');
  const example = fs.readFileSync(new globalThis.URL('./examples/dapp.mjs', import.meta.url), 'utf8');
  assert.ok(guide.includes('```js\n' + example + '```'), 'the guide embeds tests/js/examples/dapp.mjs verbatim');
});

test('the dApp example reads the market, posts a job, explains it and cancels it', async () => {
  assert.ok(KERNEL && fs.existsSync(KERNEL), `STRATUS_KERNEL_WASM (${KERNEL}) is a WASM program`);
  const seen = await tour(URL, KERNEL);
  assert.equal(seen.bestPrice, seen.bestPriceRpc, 'the runtime API and the RPC agree');
  assert.equal(seen.phase, 'Open');
  assert.equal(seen.why.unfilled, 1);
  assert.equal(seen.why.eligible, 0);
  // Every open offer there is (none on a fresh chain) is excluded by the cores asked for.
  assert.equal(seen.why.excludedBy.find(([req]) => req === 'minCpuCores')?.[1] ?? 0, seen.why.offers,
    JSON.stringify(seen.why));
  assert.equal(seen.escrow, String(1_000 * 100_000_000));
  assert.equal(seen.refunded, seen.escrow, 'cancelling an unmatched job refunds all of it');
});
