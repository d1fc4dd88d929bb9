// A dApp's tour of the Stratus market with @polkadot/api (docs/dapp-guide.md shows this file; the
// tests run it: tests/js/dapp.test.mjs). Run it against a chain yourself:
//
//   cd tests/js && node examples/dapp.mjs ws://127.0.0.1:9944 path/to/program.wasm
import fs from 'node:fs';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';

/// Signs and sends a transaction; resolves with its events once it is in a block, rejects with
/// the runtime's error (its name and documentation come from the metadata).
function send(api, tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        const error = dispatchError.isModule ? api.registry.findMetaError(dispatchError.asModule) : null;
        reject(new Error(error ? `${error.section}.${error.name}: ${error.docs.join(' ')}` : `${dispatchError}`));
      } else if (status.isInBlock) {
        resolve(events);
      } else if (status.isInvalid || status.isDropped) {
        reject(new Error(`transaction ${status.type}`));
      }
    }).catch(reject);
  });
}

/// The tour: reads the market, registers a program, posts a job that no offer can serve, reads
/// its status and why it waits, and cancels it. Returns what it saw.
export async function tour(url, programFile, suri = '//Alice') {
  await cryptoWaitReady();
  const provider = new WsProvider(url);
  const api = await ApiPromise.create({ provider, noInitWarn: true });
  try {
    const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
    const requester = keyring.addFromUri(suri);

    // 1. The market, two ways: the runtime API (typed from the metadata) and the node's
    //    market_* JSON-RPC methods (amounts as decimal strings).
    const noRequirements = {
      minVramMib: 0, minComputeCapability: 0, gpuModels: [], regionsAllowed: [],
      regionsDenied: [], minCpuCores: 0, minMemoryMib: 0, minStake: 0,
    };
    const bestPrice = (await api.call.marketApi.bestPrice('Wasm', noRequirements)).toJSON();
    const bestPriceRpc = await provider.send('market_bestPrice', ['Wasm', null, null]);

    // 2. A program: jobs name it by its blake2-256 hash. Registering holds a deposit.
    const code = fs.readFileSync(programFile);
    const program = blake2AsHex(code);
    if ((await api.query.market.programs(program)).isNone) {
      await send(api, api.tx.market.registerProgram('Wasm', u8aToHex(code)), requester);
    }

    // 3. A job that asks for more CPU cores than any provider has: it rests in the book.
    const best = (await api.rpc.chain.getHeader()).number.toNumber();
    const events = await send(api, api.tx.market.submitJob({
      program,
      input: { Inline: u8aToHex(new TextEncoder().encode('hello')) },
      requirements: { ...noRequirements, minCpuCores: 65_000 },
      maxPrice: 1_000,
      maxUnits: 100_000_000,
      policy: 'Unverified',
      commitWindow: 20,
      deadline: best + 200,
      maxOutputBytes: 1024,
    }), requester);
    const submitted = events.find(({ event }) => api.events.market.JobSubmitted.is(event)).event;
    const job = submitted.data.job.toNumber();

    // 4. Its status and why it is not matched.
    const status = await provider.send('market_jobStatus', [job, null]);
    const why = await provider.send('market_whyNoMatch', [job, null]);

    // 5. Cancel it: everything held is refunded.
    const cancelEvents = await send(api, api.tx.market.cancelJob(job), requester);
    const cancelled = cancelEvents.find(({ event }) => api.events.market.JobCancelled.is(event)).event;

    return {
      bestPrice: bestPrice === null ? null : String(bestPrice),
      bestPriceRpc,
      program,
      job,
      escrow: submitted.data.escrow.toString(),
      phase: status.phase,
      why,
      refunded: cancelled.data.refunded.toString(),
    };
  } finally {
    await api.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url = 'ws://127.0.0.1:9944', program] = process.argv.slice(2);
  if (!program) {
    console.error('usage: node examples/dapp.mjs <ws url> <program.wasm>');
    process.exit(2);
  }
  console.log(JSON.stringify(await tour(url, program), null, 2));
}
