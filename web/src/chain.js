// The console's view of the chain: one @polkadot/api connection to a node, the network's state
// from its block subscriptions, and the market's own RPC (node/src/market_rpc.rs) for jobs.

import { ApiPromise, WsProvider } from '@polkadot/api';

/// Where the console connects when the page's address does not say (`?endpoint=ws://…`): the
/// local network's RPC node, as `scripts/run-local` starts it.
export const DEFAULT_ENDPOINT = 'ws://127.0.0.1:9944';

/// The endpoint named by the page's address, if it names a ws:// or wss:// one; the default
/// otherwise. Anything else is refused with what to write instead.
export function endpointOf(search) {
  const named = new URLSearchParams(search).get('endpoint');
  if (!named) return DEFAULT_ENDPOINT;
  let url;
  try {
    url = new URL(named);
  } catch {
    throw new Error(`endpoint ${JSON.stringify(named)} is not a URL: write e.g. ?endpoint=ws://127.0.0.1:9944`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new Error(`endpoint ${named} is not a WebSocket address: it starts with ws:// or wss://`);
  }
  return url.toString().replace(/\/$/, '');
}

/// A connection: the API and its provider (for the market's RPC methods, which the API's type
/// registry does not know).
export async function connect(endpoint) {
  const provider = new WsProvider(endpoint, 2500);
  const api = await ApiPromise.create({ provider, noInitWarn: true });
  return { api, provider, endpoint };
}

/// A job's full status from `market_jobStatus` (null for an unknown or reaped job).
export function jobStatus({ provider }, id, at = null) {
  return provider.send('market_jobStatus', [id, at]);
}

/// Why a job is not (fully) matched, requirement by requirement (`market_whyNoMatch`).
export function whyNoMatch({ provider }, id, at = null) {
  return provider.send('market_whyNoMatch', [id, at]);
}

/// Follows the network: best and finalized block, the lag between them, the validators, and the
/// block time measured over the last blocks' timestamps. Calls `update` with a fresh state at each
/// change; returns a function that stops following.
export async function followNetwork({ api }, update) {
  const state = {
    chain: (await api.rpc.system.chain()).toString(),
    best: 0,
    finalized: 0,
    // Aura's authorities are public keys: shown as the chain's addresses.
    validators: (await api.query.aura.authorities()).map((a) => api.registry.createType('AccountId32', a.toU8a()).toString()),
    slotMs: Number((await api.call.auraApi.slotDuration()).toString()),
    blockMs: null,
    stamps: [],
  };
  const emit = () => update({ ...state, lag: Math.max(0, state.best - state.finalized) });
  const stopBest = await api.rpc.chain.subscribeNewHeads(async (header) => {
    const number = header.number.toNumber();
    if (number <= state.best) return;
    state.best = number;
    const at = await api.at(header.hash);
    const now = Number((await at.query.timestamp.now()).toString());
    state.stamps = [...state.stamps, { number, now }].slice(-20);
    state.blockMs = measuredBlockMs(state.stamps);
    emit();
  });
  const stopFinal = await api.rpc.chain.subscribeFinalizedHeads((header) => {
    state.finalized = Math.max(state.finalized, header.number.toNumber());
    emit();
  });
  emit();
  return () => {
    stopBest();
    stopFinal();
  };
}

/// The mean block time over consecutive `{ number, now }` stamps (ms), or null with fewer than two.
export function measuredBlockMs(stamps) {
  if (stamps.length < 2) return null;
  const first = stamps[0];
  const last = stamps[stamps.length - 1];
  const blocks = last.number - first.number;
  return blocks > 0 ? (last.now - first.now) / blocks : null;
}

/// The number of the node's finalized block.
export async function finalizedNumber({ api }) {
  const hash = await api.rpc.chain.getFinalizedHead();
  return (await api.rpc.chain.getHeader(hash)).number.toNumber();
}

/// Calls one of the node's own JSON-RPC methods (market_*, slashing_*, reputation_of).
export function rpc({ provider }, method, params) {
  return provider.send(method, params);
}

/// One page of registered providers, in storage order (an indexed read: the browser never reads
/// them all at once). `after` is the last page's `next`; `next` is null on the last page (one
/// entry more is read to know: a count that is a multiple of the page never leads to an empty
/// page).
export async function providersPage({ api }, after = null, size = 50) {
  const entries = await api.query.providerStaking.providers.entriesPaged({
    args: [],
    pageSize: size + 1,
    startKey: after ?? undefined,
  });
  const page = entries.slice(0, size);
  const providers = page.map(([key, value]) => ({ account: key.args[0].toString(), ...value.unwrap().toJSON() }));
  const next = entries.length > size ? page[page.length - 1][0].toHex() : null;
  return { providers, next };
}

/// Everything the console shows of one provider: its registration, offers, live replicas,
/// reputation and slashes; null when the account is not a provider.
export async function providerDetail(conn, account) {
  const info = await conn.api.query.providerStaking.providers(account);
  if (info.isNone) return null;
  const [offers, replicas, reputation, pending, applied, history] = await Promise.all([
    rpc(conn, 'market_providerOffers', [account, null]),
    rpc(conn, 'market_providerReplicas', [account, null]),
    rpc(conn, 'reputation_of', [account, null]),
    rpc(conn, 'slashing_pendingSlashes', [account, null]),
    rpc(conn, 'slashing_appliedSlashes', [account, null]),
    // The node's index of finalized blocks (node/src/market_index.rs); null from a node without it.
    rpc(conn, 'market_providerHistory', [account]).catch(() => null),
  ]);
  return { account, ...info.unwrap().toJSON(), offers, replicas, reputation, pending, applied, history };
}
