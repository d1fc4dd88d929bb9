// Client compatibility: an unmodified @polkadot/api (pinned in package.json) against a running
// Stratus node at $STRATUS_WS (default ws://127.0.0.1:9944) with the well-known dev accounts
// endowed (`--dev` or the `local` network).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { Metadata } from '@polkadot/types';
import { cryptoWaitReady, mnemonicGenerate } from '@polkadot/util-crypto';
import { send } from './lib.mjs';

const URL = process.env.STRATUS_WS ?? 'ws://127.0.0.1:9944';
const UNIT = 10n ** 12n;

let api;
let keyring;

before(async () => {
  await cryptoWaitReady();
  const provider = new WsProvider(URL, 1000, {}, 30_000);
  api = await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
  keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
});

after(async () => {
  await api?.disconnect();
});

/// Signs and sends `tx` (lib.mjs), resolving with the finalized block hash and the extrinsic's
/// events.
function sendToFinality(tx, signer) {
  return send(api, tx, signer, { finalized: true });
}

describe('Stratus JSON-RPC with @polkadot/api', () => {
  test('serves the legacy and the new (spec v2) RPC methods', async () => {
    const { methods } = await api.rpc.rpc.methods();
    const served = new Set(methods.map((m) => m.toString()));
    for (const method of [
      'chain_getBlock', 'chain_getBlockHash', 'chain_getFinalizedHead', 'chain_subscribeNewHeads',
      'state_getMetadata', 'state_getRuntimeVersion', 'state_getStorage', 'state_call',
      'author_submitExtrinsic', 'author_submitAndWatchExtrinsic', 'author_pendingExtrinsics',
      'system_chain', 'system_health', 'system_properties', 'system_accountNextIndex',
      'payment_queryInfo', 'payment_queryFeeDetails',
      'chainHead_v1_follow', 'chainHead_v1_unfollow', 'chainHead_v1_header', 'chainHead_v1_body',
      'chainHead_v1_storage', 'chainHead_v1_call', 'chainSpec_v1_chainName',
      'chainSpec_v1_genesisHash', 'chainSpec_v1_properties',
      'transaction_v1_broadcast', 'transaction_v1_stop',
    ]) {
      assert.ok(served.has(method), `${method} is not served`);
    }

    const health = await api.rpc.system.health();
    assert.equal(health.isSyncing.isFalse, true);
    const version = await api.rpc.state.getRuntimeVersion();
    assert.equal(version.specName.toString(), 'stratus');
    const genesis = await api.rpc.chain.getBlockHash(0);
    assert.equal(genesis.toHex(), api.genesisHash.toHex());
    const pending = await api.rpc.author.pendingExtrinsics();
    assert.ok(Array.isArray(pending.toArray()));
  });

  test('chainHead_v1_follow reports the finalized chain', async () => {
    const provider = api._rpcCore.provider;
    const initialized = await new Promise((resolve, reject) => {
      let subscriptionId;
      const timer = setTimeout(() => reject(new Error('no chainHead_v1 event in 30 s')), 30_000);
      provider
        .subscribe('chainHead_v1_followEvent', 'chainHead_v1_follow', [false], (error, event) => {
          if (error) { clearTimeout(timer); reject(error); return; }
          if (event.event === 'initialized') {
            clearTimeout(timer);
            provider.unsubscribe('chainHead_v1_followEvent', 'chainHead_v1_unfollow', subscriptionId)
              .catch(() => {});
            resolve(event);
          }
        })
        .then((id) => { subscriptionId = id; }, reject);
    });
    const hashes = initialized.finalizedBlockHashes ?? [initialized.finalizedBlockHash];
    assert.ok(hashes.length >= 1, 'no finalized block hash in the initialized event');
    const name = await provider.send('chainSpec_v1_chainName', []);
    assert.match(name, /^Stratus/);
  });

  test('decodes metadata v15 and v16', async () => {
    const versions = (await api.call.metadata.metadataVersions()).map((v) => v.toNumber());
    for (const v of [14, 15, 16]) assert.ok(versions.includes(v), `metadata v${v} not offered`);
    for (const v of [15, 16]) {
      const opaque = await api.call.metadata.metadataAtVersion(v);
      assert.ok(opaque.isSome, `no metadata v${v}`);
      const metadata = new Metadata(api.registry, opaque.unwrap().toU8a(true));
      assert.equal(metadata.version, v);
      const pallets = metadata.asLatest.pallets.map((p) => p.name.toString());
      for (const p of ['System', 'Timestamp', 'Aura', 'Grandpa', 'Balances', 'TransactionPayment']) {
        assert.ok(pallets.includes(p), `pallet ${p} missing from metadata v${v}`);
      }
    }
  });

  test('reads the chain properties', async () => {
    assert.equal(api.registry.chainSS58, 7007);
    assert.deepEqual(api.registry.chainDecimals, [12]);
    assert.deepEqual(api.registry.chainTokens, ['STRAT']);
    const props = await api.rpc.system.properties();
    assert.equal(props.tokenSymbol.unwrap()[0].toString(), 'STRAT');
  });

  test('a signed transfer reaches finality and moves exactly the amount', async () => {
    const alice = keyring.addFromUri('//Alice');
    // A fresh account each run, so the check holds on a chain that has seen earlier runs.
    const dest = keyring.addFromMnemonic(mnemonicGenerate());
    const amount = 3n * UNIT + 141_592n;

    const { blockHash, events } = await sendToFinality(
      api.tx.balances.transferKeepAlive(dest.address, amount), alice);

    const block = await api.rpc.chain.getHeader(blockHash);
    const before = await api.at(block.parentHash);
    const atBlock = await api.at(blockHash);
    const [aliceBefore, aliceAfter, destBefore, destAfter] = await Promise.all([
      before.query.system.account(alice.address),
      atBlock.query.system.account(alice.address),
      before.query.system.account(dest.address),
      atBlock.query.system.account(dest.address),
    ]);

    assert.equal(destBefore.data.free.toBigInt(), 0n);
    assert.equal(destAfter.data.free.toBigInt(), amount, 'the receiver got exactly the amount');

    const feeEvent = events.find(({ event }) => api.events.transactionPayment.TransactionFeePaid.is(event));
    assert.ok(feeEvent, 'no TransactionFeePaid event');
    const fee = feeEvent.event.data.actualFee.toBigInt() + feeEvent.event.data.tip.toBigInt();
    assert.ok(fee > 0n, 'a transfer pays a fee');
    const transferEvent = events.find(({ event }) => api.events.balances.Transfer.is(event));
    assert.equal(transferEvent.event.data.amount.toBigInt(), amount);
    // Alice may have sent other transactions in the same block only if another client did; this
    // test is the only sender, so her balance moved by exactly amount + fee.
    assert.equal(aliceBefore.data.free.toBigInt() - aliceAfter.data.free.toBigInt(), amount + fee);
    assert.equal(aliceAfter.nonce.toNumber(), aliceBefore.nonce.toNumber() + 1);
  });

  test('transaction_v1_broadcast includes a signed extrinsic', async () => {
    const bob = keyring.addFromUri('//Bob');
    const nonce = (await api.rpc.system.accountNextIndex(bob.address)).toNumber();
    const remark = api.tx.system.remarkWithEvent('stratus compat');
    await remark.signAsync(bob, { nonce });
    const provider = api._rpcCore.provider;
    const operationId = await provider.send('transaction_v1_broadcast', [remark.toHex()]);
    assert.equal(typeof operationId, 'string');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const next = (await api.rpc.system.accountNextIndex(bob.address)).toNumber();
      const onChain = (await api.query.system.account(bob.address)).nonce.toNumber();
      if (onChain > nonce && next > nonce) break;
      assert.ok(Date.now() < deadline, 'the broadcast extrinsic was not included within 60 s');
      await new Promise((r) => setTimeout(r, 1000));
    }
    await provider.send('transaction_v1_stop', [operationId]).catch(() => {});
  });

  test('a transfer beyond the balance is refused and changes nothing', async () => {
    const poor = keyring.addFromMnemonic(mnemonicGenerate());
    const alice = keyring.addFromUri('//Alice');
    const before = (await api.query.system.account(alice.address)).data.free.toBigInt();
    await assert.rejects(
      sendToFinality(api.tx.balances.transferKeepAlive(alice.address, UNIT), poor),
      /Inability to pay some fees|1010|Invalid Transaction/,
    );
    const afterFree = (await api.query.system.account(alice.address)).data.free.toBigInt();
    assert.equal(afterFree, before);
  });
});
