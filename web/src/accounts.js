// The accounts that can sign on this page, shared by every page: the dev accounts on a development
// or local chain, and those of the browser's wallets (polkadot.js extension, Talisman, SubWallet:
// the injected-accounts interface) once the user connects them. Each can sign a call and a
// message (a download request for a job's output, docs/provider-guide.md).

import { useEffect, useState } from 'preact/hooks';
import { Keyring } from '@polkadot/api';
import { cryptoWaitReady, decodeAddress } from '@polkadot/util-crypto';
import { stringToHex, u8aEq, u8aToHex } from '@polkadot/util';

const DEV = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];

/// The accounts that can sign here: the dev accounts on a development or local chain.
export async function devAccounts(api) {
  const type = await api.rpc.system.chainType();
  if (!type.isDevelopment && !type.isLocal) return [];
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 });
  return DEV.map((name) => {
    const pair = keyring.addFromUri(`//${name}`);
    return {
      label: `${name} (dev account)`,
      address: pair.address,
      sign: (tx, cb) => tx.signAndSend(pair, cb),
      signText: async (text) => u8aToHex(pair.sign(new TextEncoder().encode(text))),
      // Signs without asking anyone: a download may be asked for again without a prompt.
      silent: true,
    };
  });
}

/// The accounts of the browser's wallets (asks the wallets' permission once), their addresses in
/// the chain's format (`ss58Format`). A wallet signs a message wrapped in `<Bytes>…</Bytes>`,
/// which workers accept.
export async function walletAccounts(ss58Format) {
  const { web3Enable, web3Accounts, web3FromSource } = await import('@polkadot/extension-dapp');
  const wallets = await web3Enable('Stratus console');
  if (wallets.length === 0) throw new Error('no browser wallet answered: install or unlock polkadot.js extension, Talisman or SubWallet, and allow this page');
  const accounts = await web3Accounts({ ss58Format });
  return Promise.all(
    accounts.map(async (a) => {
      const { signer } = await web3FromSource(a.meta.source);
      return {
        label: `${a.meta.name ?? 'account'} (${a.meta.source})`,
        address: a.address,
        sign: (tx, cb) => tx.signAndSend(a.address, { signer }, cb),
        signText: async (text) => {
          if (!signer.signRaw) throw new Error(`the wallet ${a.meta.source} cannot sign messages`);
          return (await signer.signRaw({ address: a.address, data: stringToHex(text), type: 'bytes' })).signature;
        },
      };
    }),
  );
}

// The wallets' accounts, once connected, for every page (a wallet asks its user once).
let connected = [];
const listeners = new Set();

/// The accounts that can sign (wallets' first), and a function that connects the wallets;
/// `error` says why the dev accounts or the wallets could not be read.
export function useAccounts(api) {
  const [dev, setDev] = useState([]);
  const [wallets, setWallets] = useState(connected);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    devAccounts(api).then((a) => live && setDev(a), (e) => live && setError(e.message));
    listeners.add(setWallets);
    return () => {
      live = false;
      listeners.delete(setWallets);
    };
  }, [api]);
  const connect = async () => {
    try {
      connected = await walletAccounts(api.registry.chainSS58);
      for (const l of listeners) l(connected);
    } catch (e) {
      setError(e.message);
    }
  };
  return { accounts: [...wallets, ...dev], connect, error };
}

/// Whether two addresses (in any SS58 format) are the same account.
export function sameAccount(a, b) {
  try {
    return u8aEq(decodeAddress(a), decodeAddress(b));
  } catch {
    return false;
  }
}
