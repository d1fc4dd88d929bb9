// How the console writes what the chain holds: amounts of STRAT the way the CLI prints them
// (client/src/amount.rs), blocks as time, accounts shortened.

export const TOKEN = 'STRAT';
export const DECIMALS = 12;
export const PLANCK_PER_STRAT = 10n ** BigInt(DECIMALS);

/// An amount in planck (a BigInt, a number, a decimal string or a 0x hex string, as the node's
/// JSON gives them) as a BigInt; throws on anything else rather than guessing.
export function planck(value) {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) return BigInt(value);
  if (value && typeof value.toString === 'function' && typeof value.toBn === 'function') {
    return BigInt(value.toString());
  }
  throw new Error(`not an amount in planck: ${JSON.stringify(value)}`);
}

/// Whole STRAT as "5 STRAT", amounts from a millionth of a STRAT as decimals
/// ("0.00005 STRAT"), smaller ones in planck ("1500 planck"): what `stratus` prints.
export function amount(value) {
  const p = planck(value);
  const whole = p / PLANCK_PER_STRAT;
  const fraction = p % PLANCK_PER_STRAT;
  if (fraction === 0n && whole > 0n) return `${whole} ${TOKEN}`;
  if (p >= PLANCK_PER_STRAT / 1_000_000n) {
    const digits = fraction.toString().padStart(DECIMALS, '0').replace(/0+$/, '');
    return `${whole}.${digits} ${TOKEN}`;
  }
  return `${p} planck`;
}

/// Blocks as a duration at `blockMs` per block: "12 s", "4 min", "2.5 h", "3 d".
export function blocksAsTime(blocks, blockMs) {
  const seconds = (Number(blocks) * blockMs) / 1000;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/// An SS58 address shortened to its head and tail: "fhEukD…8MfJT".
export function short(address) {
  const text = String(address);
  return text.length > 14 ? `${text.slice(0, 6)}…${text.slice(-5)}` : text;
}
