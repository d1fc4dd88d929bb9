import { describe, expect, it } from 'vitest';
import { amount, blocksAsTime, planck, short } from '../src/format.js';

describe('amounts, written as the CLI writes them', () => {
  it('writes whole STRAT, decimals down to a millionth, planck below', () => {
    expect(amount(5n * 10n ** 12n)).toBe('5 STRAT');
    expect(amount('1500000000000')).toBe('1.5 STRAT');
    expect(amount(50_000_000)).toBe('0.00005 STRAT');
    expect(amount(1_000_000)).toBe('0.000001 STRAT');
    expect(amount(999_999)).toBe('999999 planck');
    expect(amount(0)).toBe('0 planck');
    // Past 2^64: a u128 balance the node sends as a string stays exact.
    expect(amount('340282366920938463463374607431768211455')).toBe(
      '340282366920938463463374607.431768211455 STRAT',
    );
  });

  it('reads planck from what the node sends, and refuses anything else', () => {
    expect(planck('0x10')).toBe(16n);
    expect(planck(7)).toBe(7n);
    for (const bad of ['1.5', '-1', '', 'ten', -3, 1.5, null, undefined, {}]) {
      expect(() => planck(bad)).toThrow(/not an amount in planck/);
    }
  });
});

describe('blocks as time', () => {
  it('uses the block time it is given', () => {
    expect(blocksAsTime(4, 3000)).toBe('12 s');
    expect(blocksAsTime(100, 3000)).toBe('5 min');
    expect(blocksAsTime(14400, 3000)).toBe('12.0 h');
    expect(blocksAsTime(201600, 3000)).toBe('7.0 d');
  });
});

describe('addresses', () => {
  it('keeps the head and the tail', () => {
    expect(short('fhEukDgJBy19ph8ce1TThMecGenFeyb5TVuH6bW4J2md8MfJT')).toBe('fhEukD…8MfJT');
    expect(short('short')).toBe('short');
  });
});
