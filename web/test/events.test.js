import { describe, expect, it } from 'vitest';
import { costOf, describeEvent, jobTimeline } from '../src/events.js';

/// A chain of `best` blocks, `finalized` of them final; block n holds one market event for job n % 3.
let chains = 0;
function chain(best, finalized) {
  // Each chain's block hashes its own (the events cache is the module's, shared by the tests).
  const salt = ++chains * 1_000_000;
  const calls = { hashes: 0, events: 0 };
  const event = (n) => ({
    event: {
      section: 'market', method: 'ReplicaAcknowledged',
      data: Object.assign([{ toString: () => String(n % 3) }, { toString: () => '0' }, { toString: () => String(n + 10) }], { names: ['job', 'replica', 'commitBy'] }),
    },
  });
  const api = {
    rpc: {
      chain: {
        getBlockHash: async (n) => (calls.hashes++, { toHex: () => `0x${(salt + n).toString(16).padStart(64, '0')}` }),
        getFinalizedHead: async () => 'final',
        getHeader: async () => ({ number: { toNumber: () => finalized } }),
      },
    },
    at: async (hash) => ({ query: { system: { events: async () => (calls.events++, [event(parseInt(hash, 16) - salt)]) } } }),
  };
  return { conn: { api }, calls };
}

describe("a job's timeline", () => {
  it("keeps the job's own events with their blocks, and reads a finalized block's hash and events once", async () => {
    const { conn, calls } = chain(100, 90);
    const first = await jobTimeline(conn, 1, 1, 100);
    expect(first.entries.map((e) => e.block)).toEqual(Array.from({ length: 34 }, (_, i) => 1 + 3 * i));
    expect(describeEvent(first.entries[0])).toBe('replica 0 acknowledged; its commitment is due by #11');
    expect([calls.hashes, calls.events]).toEqual([100, 100]);
    await jobTimeline(conn, 1, 1, 100);
    // Again: only the ten blocks above the finalized one are looked up by number; no events re-read.
    expect([calls.hashes, calls.events]).toEqual([110, 100]);
  });

  it('reads a long job\'s first blocks and its last hundred, where its end and refund are', async () => {
    const { conn, calls } = chain(1000, 1000);
    const t = await jobTimeline(conn, 2, 1, 1000);
    expect(t.skipped).toEqual([501, 900]);
    expect(calls.events).toBe(600);
    const blocks = t.entries.map((e) => e.block);
    expect(blocks.at(-1)).toBe(998);
    expect(blocks.some((b) => b > 500 && b <= 900)).toBe(false);
  });

  it('adds up what a job cost from its events', () => {
    const entries = [
      { method: 'JobSubmitted', data: { escrow: '1000' } },
      { method: 'ProviderPaid', data: { amount: '300', fee: '6' } },
      { method: 'ProviderPaid', data: { amount: '200', fee: '4' } },
      { method: 'JobSettled', data: { refunded: '490' } },
    ];
    const cost = costOf(entries);
    expect(cost).toEqual({ escrow: 1000n, paid: 500n, fees: 10n, refunded: 490n });
    expect(cost.paid + cost.fees + cost.refunded).toBe(cost.escrow);
  });
});
