// What happened to a job, block by block: the market's, verification's and slashing's events
// that name it, read from each block's events between the block that posted the job and the
// block that ended it (or the best block). A block's events are read once and kept.

import { amount, short } from './format.js';
import { finalizedNumber } from './chain.js';

/// At most this many blocks of a job's life are read (the first ones: posting, matching, commits
/// and reveals); a job that lives longer is shown from its record and its last blocks.
export const TIMELINE_BLOCKS = 600;
const SECTIONS = new Set(['market', 'verification', 'slashing']);
const cache = new Map(); // block hash → [{ section, method, data }]
// Per connection: number → hash of a finalized block (it never changes on that chain).
const finalHashesOf = new WeakMap();

/// The events of the best chain's block `number`, with their fields by name (as strings), or
/// null when the node no longer holds that block's state (a pruned node). A block at or below
/// `finalized` is looked up by number once; a caller that has the block's hash passes it.
export async function blockEvents({ api }, number, finalized = -1, known = null) {
  if (!finalHashesOf.has(api)) finalHashesOf.set(api, new Map());
  const finalHashes = finalHashesOf.get(api);
  let hash = known ?? finalHashes.get(number);
  if (hash === undefined) {
    hash = (await api.rpc.chain.getBlockHash(number)).toHex();
    if (number <= finalized) {
      if (finalHashes.size > 20_000) finalHashes.delete(finalHashes.keys().next().value);
      finalHashes.set(number, hash);
    }
  }
  if (cache.has(hash)) return cache.get(hash);
  let records;
  try {
    records = await (await api.at(hash)).query.system.events();
  } catch {
    // Pruned: a finalized block's state never comes back; remembered, not asked for again.
    if (number <= finalized) cache.set(hash, null);
    return null;
  }
  const events = records
    .filter(({ event }) => SECTIONS.has(event.section))
    .map(({ event }) => ({
      section: event.section,
      method: event.method,
      data: Object.fromEntries((event.data.names ?? []).map((name, i) => [name, event.data[i].toString()])),
    }));
  if (cache.size > 5000) cache.delete(cache.keys().next().value);
  cache.set(hash, events);
  return events;
}

/// Job `job`'s events in blocks `from`..=`to`, read 25 blocks at a time: all of them for a job of
/// at most TIMELINE_BLOCKS blocks; for a longer one, its first blocks and its last 100 (posting
/// and matching; the end and what it paid and refunded). `{ entries: [{ block, section, method,
/// data }], from, to, skipped, missing, finalized }`: `finalized` is the finalized block it read, `skipped` names the blocks not read (`[first, last]` or
/// null), `missing` counts the blocks whose events the node no longer holds.
export async function jobTimeline(conn, job, from, to) {
  const finalized = await finalizedNumber(conn);
  const wanted = [];
  const tail = 100;
  let skipped = null;
  for (let n = from; n <= to; n++) {
    if (to - from + 1 > TIMELINE_BLOCKS && n === from + TIMELINE_BLOCKS - tail) {
      skipped = [n, to - tail];
      n = to - tail;
      continue;
    }
    wanted.push(n);
  }
  const entries = [];
  let missing = 0;
  for (let i = 0; i < wanted.length; i += 25) {
    const numbers = wanted.slice(i, i + 25);
    const blocks = await Promise.all(numbers.map((n) => blockEvents(conn, n, finalized)));
    blocks.forEach((events, i) => {
      if (events === null) missing += 1;
      for (const e of events ?? []) {
        if (e.data.job === String(job)) entries.push({ block: numbers[i], ...e });
      }
    });
  }
  return { entries, from, to, skipped, missing, finalized };
}

const percent = (perbill) => `${Number(perbill) / 1e7}%`;
const digest = (h) => `${h.slice(0, 10)}…`;

/// An event of a job in words, as the CLI's `job status` would say it.
export function describeEvent({ section, method, data: d }) {
  const r = `replica ${d.replica}`;
  switch (`${section}.${method}`) {
    case 'market.JobSubmitted':
      return `posted by ${short(d.requester)}; ${amount(d.escrow)} held in escrow`;
    case 'market.ReplicaAssigned':
      return `${r} matched to ${short(d.provider)} at ${amount(d.price)} per unit (to acknowledge by #${d.ackBy})`;
    case 'market.ReplicaAcknowledged':
      return `${r} acknowledged; its commitment is due by #${d.commitBy}`;
    case 'market.ReplicaDeclined':
      return `${r} declined by ${short(d.provider)}`;
    case 'market.ReplicaMissed':
      return `${r} missed its deadline (${d.missed}): ${short(d.provider)} is not paid`;
    case 'verification.ReplicaCommitted':
      return `${r} committed to a result`;
    case 'market.RevealOpened':
      return `every commitment is in: reveals are due by #${d.until}`;
    case 'verification.ReplicaRevealed':
      return `${r} revealed digest ${digest(d.digest)} for ${d.units} units`;
    case 'market.SpotCheckDecided':
      return d.checked === 'true'
        ? `drawn for a spot check (at a rate of ${percent(d.rate)}): a second provider runs it too`
        : `not drawn for a spot check (at a rate of ${percent(d.rate)})`;
    case 'market.RefereesCalled':
      return `results disagreed without a majority: referees called (round ${d.round})`;
    case 'market.RoundStarted':
      return `round ${d.round} started with fresh replicas`;
    case 'market.ProviderPaid':
      return `${r}'s provider ${short(d.provider)} paid ${amount(d.amount)} (network fee ${amount(d.fee)})`;
    case 'market.JobSettled':
      return `settled on digest ${digest(d.digest)}: ${d.units} units, ${amount(d.paid)} paid, ${amount(d.refunded)} refunded`;
    case 'market.JobDisputed':
      return `disputed (no quorum): ${amount(d.refunded)} refunded`;
    case 'market.JobCancelled':
      return `cancelled by its requester: ${amount(d.refunded)} refunded`;
    case 'market.JobExpired':
      return `expired without a result: ${amount(d.refunded)} refunded`;
    case 'slashing.OffenceReported':
      return `offence reported against ${short(d.provider)} (${r}): ${d.offence}`;
    case 'slashing.SlashDeferred':
      return `slash of ${amount(d.amount)} against ${short(d.provider)} (${r}), applied at #${d.applyAt} unless cancelled`;
    default:
      return `${section}.${method}`;
  }
}

/// What the job cost and what came back, from its events: `{ escrow, paid, fees, refunded }`
/// (BigInts; null where the events do not say).
export function costOf(entries) {
  const sum = (method, field) =>
    entries.filter((e) => e.method === method).reduce((total, e) => total + BigInt(e.data[field]), 0n);
  const submitted = entries.find((e) => e.method === 'JobSubmitted');
  const ended = entries.find((e) => ['JobSettled', 'JobDisputed', 'JobCancelled', 'JobExpired'].includes(e.method));
  return {
    escrow: submitted ? BigInt(submitted.data.escrow) : null,
    paid: sum('ProviderPaid', 'amount'),
    fees: sum('ProviderPaid', 'fee'),
    refunded: ended ? BigInt(ended.data.refunded) : null,
  };
}
