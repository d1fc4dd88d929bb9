// Writes a chain spec whose genesis holds a populated state, for `scripts/bench-weights db`: the
// given plain chain spec plus N endowed accounts (deterministic ids), so the storage benchmark
// measures reads and writes on a trie of realistic depth rather than on a dev chain's few dozen
// keys. 200,000 accounts is about as much as the genesis builder's wasm memory takes.
//
//   node bench-state.mjs IN.json OUT.json N
import { encodeAddress } from '@polkadot/util-crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const [input, output, count] = process.argv.slice(2);
const n = Number(count);
if (!input || !output || !Number.isSafeInteger(n) || n < 0) {
  console.error('usage: node bench-state.mjs IN.json OUT.json N');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(input, 'utf8'));
const balances = spec.genesis?.runtimeGenesis?.patch?.balances?.balances;
if (!Array.isArray(balances)) {
  console.error(`${input}: not a plain chain spec with a balances genesis patch`);
  process.exit(1);
}
for (let i = 0; i < n; i++) {
  const id = createHash('sha256').update(`stratus-bench-account-${i}`).digest();
  balances.push([encodeAddress(id, 42), 1_000_000_000_000]);
}
writeFileSync(output, JSON.stringify(spec));
