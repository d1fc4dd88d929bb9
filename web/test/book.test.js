import { describe, expect, it } from 'vitest';
import { depth, jobKey, offerKey } from '../src/book.js';

function key(high, low) {
  const bytes = new Uint8Array(24);
  let v = high;
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  let w = low;
  for (let i = 23; i >= 16; i--) {
    bytes[i] = Number(w & 0xffn);
    w >>= 8n;
  }
  return bytes;
}

describe('book keys', () => {
  it('reads an offer key as the chain writes it: price then id, big-endian', () => {
    expect(offerKey(key(1000n, 7n))).toEqual({ price: 1000n, offer: 7n });
    const huge = (1n << 127n) + 5n; // past 2^64: exact
    expect(offerKey(key(huge, 1n << 40n))).toEqual({ price: huge, offer: 1n << 40n });
  });

  it('reads a job key back to its max price (the key holds u128::MAX − max price)', () => {
    const max = (1n << 128n) - 1n;
    expect(jobKey(key(max - 2000n, 42n))).toEqual({ maxPrice: 2000n, job: 42n });
    expect(jobKey(key(0n, 0n))).toEqual({ maxPrice: max, job: 0n });
  });
});

describe('depth', () => {
  it('merges offers at one price and counts the slots up to each price', () => {
    expect(
      depth([
        { price: 1000n, free: 2 },
        { price: 1000n, free: 1 },
        { price: 1200n, free: 0 },
        { price: 1500n, free: 4 },
      ]),
    ).toEqual([
      { price: 1000n, free: 3, cumulative: 3 },
      { price: 1200n, free: 0, cumulative: 3 },
      { price: 1500n, free: 4, cumulative: 7 },
    ]);
    expect(depth([])).toEqual([]);
  });
});
