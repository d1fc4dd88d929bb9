import { describe, expect, it } from 'vitest';
import { parseAmount, parsePolicy, planJob } from '../src/plan.js';

const UNIT = 10n ** 12n;
const limits = {
  minJobValue: 10_000_000n, maxReplication: 5, maxOutputBytes: 1 << 20, ackWindow: 5, revealWindow: 10,
  maxJobDuration: 201_600, maxInlineInput: 65_536, referees: 3, jobDeposit: UNIT / 100n, maxRequirementItems: 16,
};
const program = `0x${'ab'.repeat(32)}`;
const good = {
  program, input: 'hello', policy: 'replicated(2)', maxPrice: '0.002 STRAT', maxUnits: '100000000',
  commitWindow: '20', deadline: '200', maxOutput: '1024', regions: '276, 250',
};
const chain = { limits, programLen: 14_407, bestPrice: 1000n, free: 10_000_000n * UNIT, best: 50 };

describe('amounts in the form', () => {
  it('parses STRAT exactly and planck as written', () => {
    expect(parseAmount('0.002 STRAT', 'x')).toBe(2_000_000_000n);
    expect(parseAmount('1.000000000001 STRAT', 'x')).toBe(1_000_000_000_001n);
    expect(parseAmount('123 planck', 'x')).toBe(123n);
    expect(parseAmount(' 7 ', 'x')).toBe(7n);
    // Past 20 significant digits, still to the planck (a float or a default Decimal rounds it).
    expect(parseAmount('100000000.000000000001 STRAT', 'x')).toBe(100_000_000_000_000_000_001n);
    expect(parseAmount('340282366.920938463463 STRAT', 'x')).toBe(340_282_366_920_938_463_463n);
  });

  it('refuses what is not an amount, naming the field and what to write', () => {
    expect(() => parseAmount('-1 STRAT', 'max price')).toThrow(/max price: "-1 STRAT" is not an amount: write e.g. "0.002 STRAT"/);
    expect(() => parseAmount('1e3', 'max price')).toThrow(/is not an amount/);
    expect(() => parseAmount('0.0000000000001 STRAT', 'max price')).toThrow(/more than 12 decimals/);
    expect(() => parseAmount(`${(1n << 128n).toString()} planck`, 'max price')).toThrow(/too large/);
  });
});

describe('policies', () => {
  it('reads them as manifests write them, and refuses the rest', () => {
    expect(parsePolicy('Adaptive', 5).policy).toBe('Adaptive');
    expect(parsePolicy('replicated(3)', 5).policy).toEqual({ Replicated: 3 });
    expect(() => parsePolicy('replicated(9)', 5)).toThrow(/from 2 to 5, not 9/);
    expect(() => parsePolicy('trust me', 5)).toThrow(/is not a policy/);
  });
});

describe('the job form, checked as the CLI checks a manifest', () => {
  it('plans a good form: the spec, the escrow at the worst case, the expected cost', () => {
    const plan = planJob(good, chain);
    expect(plan.errors).toEqual([]);
    expect(plan.spec.deadline).toBe(250);
    expect(plan.spec.policy).toEqual({ Replicated: 2 });
    expect(plan.spec.requirements.regionsAllowed).toEqual([276, 250]);
    expect(plan.spec.input.Inline).toBe('0x68656c6c6f');
    // max price × max units × (2 + 1 spot-check + 3 referees)
    expect(plan.escrow).toBe(2_000_000_000n * 100_000_000n * 6n);
    expect(plan.expected).toEqual([1000n * 100_000_000n * 2n, 1000n * 100_000_000n * 3n]);
    expect(plan.describe).toMatch(/worst case 1200000 STRAT \(max price × max units × 6 replicas/);
  });

  it('names every mistake at once, and plans nothing', () => {
    const plan = planJob(
      { ...good, program: 'main.wasm', maxPrice: '0', maxUnits: 'ten', deadline: '3', maxOutput: '0', policy: 'replicated(1)' },
      chain,
    );
    expect(plan.spec).toBeUndefined();
    expect(plan.errors.join('\n')).toMatch(/program: "main.wasm" is not a program hash/);
    expect(plan.errors.join('\n')).toMatch(/max price is 0/);
    expect(plan.errors.join('\n')).toMatch(/max units: "ten" is not a whole number/);
    expect(plan.errors.join('\n')).toMatch(/deadline must be from 37 to 201600, not 3/);
    expect(plan.errors.join('\n')).toMatch(/max output must be from 1 to 1048576/);
    expect(plan.errors.join('\n')).toMatch(/replicated\(n\) takes n from 2 to 5, not 1/);
  });

  it('refuses a job too small, units that do not cover the compile, a price under the best ask', () => {
    expect(planJob({ ...good, maxPrice: '1 planck', maxUnits: '1000' }, chain).errors.join('\n')).toMatch(/under the 0.00001 STRAT a job must be worth/);
    expect(planJob({ ...good, maxUnits: '1000' }, { ...chain, bestPrice: null }).errors.join('\n')).toMatch(/does not cover compiling the program: every worker charges 59011072 units/);
    expect(planJob({ ...good, maxPrice: '500 planck' }, chain).errors.join('\n')).toMatch(/below the best price an offer meeting the requirements asks/);
    expect(planJob(good, { ...chain, programLen: null }).errors.join('\n')).toMatch(/is not registered on this chain/);
  });

  it('sends an input file\'s bytes inline instead of the text, and refuses one too large to carry', () => {
    const bytes = Uint8Array.of(1, 0, 0, 0, 0xff);
    expect(planJob({ ...good, inputFile: { name: 'in.bin', bytes } }, chain).spec.input.Inline).toBe('0x01000000ff');
    const big = planJob({ ...good, inputFile: { name: 'big.bin', bytes: new Uint8Array(65_537) } }, chain);
    expect(big.errors.join('\n')).toMatch(/input: the input file big.bin is 65537 bytes, more than the 65536 bytes a job carries inline; serve it over HTTP/);
  });

  it('wants the deadline two blocks past the windows: the job is included a block after the best at the earliest', () => {
    // ack 5 + commit 20 + reveal 10 = 35: the chain refuses a deadline at best + 36 (DeadlineTooSoon).
    expect(planJob({ ...good, deadline: '36' }, chain).errors.join('\n')).toMatch(/deadline must be from 37 to 201600, not 36/);
    expect(planJob({ ...good, deadline: '37' }, chain).errors).toEqual([]);
  });

  it('refuses an escrow the account cannot pay', () => {
    expect(planJob(good, { ...chain, free: UNIT }).errors[0]).toMatch(/more than the free balance of 1 STRAT: lower max units or max price/);
  });
});
