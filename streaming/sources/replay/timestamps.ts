/**
 * Historical files carry event time in many shapes: epoch numbers in s, ms, µs or ns (as JSON numbers, CSV text
 * or Parquet int64/bigint) and ISO-8601 strings. Ticks need integer µs. Conversions are exact where the input is:
 * decimal text and bigints are converted digit by digit, never through a lossy double (ns epochs exceed 2^53).
 */

export const TIMESTAMP_FORMATS = ['auto', 'us', 'ms', 's', 'ns', 'iso'] as const;
export type TimestampFormat = (typeof TIMESTAMP_FORMATS)[number];
export type EpochUnit = 'us' | 'ms' | 's' | 'ns';

export type TimeResult = { ok: true; us: number } | { ok: false; error: string };

/**
 * A time read from a typed column (Parquet TIMESTAMP or DATE): its unit is known from the schema, so it is used as
 * is whatever `timestampFormat` says.
 */
export class Instant {
  constructor(readonly us: bigint) {}
}

const SCALE_TO_US: Record<EpochUnit, bigint> = { s: 1_000_000n, ms: 1000n, us: 1n, ns: 1n };
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Guesses the unit of an epoch number from its magnitude: any time between 1973 and 5138 is unambiguous
 * (1e11 s is year 5138, 1e11 ms is 1973, and so on by factors of 1000).
 */
export function guessEpochUnit(magnitude: number): EpochUnit {
  const m = Math.abs(magnitude);
  if (m < 1e11) return 's';
  if (m < 1e14) return 'ms';
  if (m < 1e17) return 'us';
  return 'ns';
}

function fail(error: string): TimeResult {
  return { ok: false, error };
}

/** Exact decimal text × 10^k for µs: "1700000000.123456" s -> 1700000000123456. Sub-µs digits are truncated. */
function decimalToUs(sign: string, intPart: string, frac: string, unit: EpochUnit): TimeResult {
  const fracDigits = { s: 6, ms: 3, us: 0, ns: -3 }[unit];
  let us: bigint;
  if (fracDigits >= 0) {
    us = BigInt(intPart) * SCALE_TO_US[unit] + BigInt((frac + '000000').slice(0, fracDigits) || '0');
  } else {
    us = BigInt(intPart) / 1000n;
  }
  if (sign === '-') us = -us;
  const n = Number(us);
  return Number.isSafeInteger(n) ? { ok: true, us: n } : fail(`${sign}${intPart} is out of range`);
}

export function epochToUs(value: number | bigint | string, unit: EpochUnit): TimeResult {
  if (typeof value === 'bigint') {
    const us = unit === 'ns' ? value / 1000n : value * SCALE_TO_US[unit];
    const n = Number(us);
    return Number.isSafeInteger(n) ? { ok: true, us: n } : fail(`${value} is out of range`);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return fail(`${value} is not a finite number`);
    // Integers up to 2^53 print exactly; fractions go through their shortest decimal form, which is what was written.
    return epochToUs(Number.isSafeInteger(value) ? BigInt(value) : String(value), unit);
  }
  const m = DECIMAL.exec(value.trim());
  if (!m) return fail(`${JSON.stringify(value)} is not a number`);
  return decimalToUs(m[1] ?? '', m[2] ?? '0', m[3] ?? '', unit);
}

/** ISO-8601 / RFC-3339 text -> µs. A time without a zone designator is read as UTC (files from vendors usually are). */
export function isoToUs(text: string): TimeResult {
  const m = ISO.exec(text.trim());
  if (!m) return fail(`${JSON.stringify(text)} is not an ISO-8601 timestamp`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return fail(`${JSON.stringify(text)} has a field out of range`);
  }
  const ms = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  if (new Date(ms).getUTCDate() !== day) return fail(`${JSON.stringify(text)} is not a calendar date`);
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMin = (zone[0] === '-' ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  return { ok: true, us: (ms - offsetMin * 60_000) * 1000 + Number((frac + '000000').slice(0, 6)) };
}

/** Converts one cell (JSON value, CSV text, Parquet number/bigint/Date) to µs in the given format. */
export function toEventUs(value: unknown, format: TimestampFormat): TimeResult {
  if (value === undefined || value === null || value === '') return fail('timestamp is missing');
  if (value instanceof Instant) {
    const n = Number(value.us);
    return Number.isSafeInteger(n) ? { ok: true, us: n } : fail(`${value.us} µs is out of range`);
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isFinite(ms) ? { ok: true, us: ms * 1000 } : fail('invalid Date');
  }
  if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'string') {
    return fail(`timestamp must be a number or a string, got ${typeof value}`);
  }
  if (format === 'iso') return typeof value === 'string' ? isoToUs(value) : fail(`expected an ISO-8601 string`);
  if (format === 'auto') {
    if (typeof value === 'string' && !DECIMAL.test(value.trim())) return isoToUs(value);
    return epochToUs(value, guessEpochUnit(Number(value)));
  }
  return epochToUs(value, format);
}
