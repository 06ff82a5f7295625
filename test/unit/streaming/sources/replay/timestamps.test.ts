import { describe, expect, it } from 'vitest';
import {
  Instant,
  epochToUs,
  guessEpochUnit,
  isoToUs,
  toEventUs,
} from '../../../../../streaming/sources/replay/timestamps.ts';

// 2024-03-04T14:30:00Z
const T = 1_709_562_600;

function us(value: unknown, format: Parameters<typeof toEventUs>[1] = 'auto'): number | string {
  const r = toEventUs(value, format);
  return r.ok ? r.us : r.error;
}

describe('replay timestamps', () => {
  it('converts each epoch unit exactly, from numbers, text and bigints', () => {
    expect(us(T, 's')).toBe(T * 1e6);
    expect(us(`${T}.123456`, 's')).toBe(T * 1e6 + 123_456);
    expect(us(`${T}.1234569`, 's')).toBe(T * 1e6 + 123_456); // sub-µs digits truncated
    expect(us(T * 1000 + 5, 'ms')).toBe(T * 1e6 + 5000);
    expect(us(`${T}000.5`, 'ms')).toBe(T * 1e6 + 500);
    expect(us(T * 1e6 + 7, 'us')).toBe(T * 1e6 + 7);
    // ns epochs exceed 2^53: text and bigint keep every digit, a JSON number would not.
    expect(us(`${T}000001999`, 'ns')).toBe(T * 1e6 + 1);
    expect(us(BigInt(`${T}000001999`), 'ns')).toBe(T * 1e6 + 1);
    expect(us(BigInt(T), 's')).toBe(T * 1e6);
  });

  it('guesses the unit from the magnitude in auto mode', () => {
    expect(guessEpochUnit(T)).toBe('s');
    expect(guessEpochUnit(T * 1e3)).toBe('ms');
    expect(guessEpochUnit(T * 1e6)).toBe('us');
    expect(guessEpochUnit(T * 1e9)).toBe('ns');
    for (const v of [T, T * 1000, T * 1e6, `${T}000000000`, `${T}.5`]) {
      expect(us(v)).toBe(typeof v === 'string' && v.endsWith('.5') ? T * 1e6 + 500_000 : T * 1e6);
    }
  });

  it('reads ISO-8601 with Z, offsets, no zone (UTC) and up to 9 fraction digits', () => {
    expect(us('2024-03-04T14:30:00Z')).toBe(T * 1e6);
    expect(us('2024-03-04T14:30:00.000001Z', 'iso')).toBe(T * 1e6 + 1);
    expect(us('2024-03-04T09:30:00-05:00')).toBe(T * 1e6);
    expect(us('2024-03-04T15:30:00+0100')).toBe(T * 1e6);
    expect(us('2024-03-04 14:30:00.123456789')).toBe(T * 1e6 + 123_456);
    expect(us('2024-03-04')).toBe(Date.UTC(2024, 2, 4) * 1000);
    const r = isoToUs('2024-02-31T00:00:00Z');
    expect(r.ok).toBe(false);
  });

  it('explains what it cannot read instead of guessing', () => {
    expect(us(undefined)).toBe('timestamp is missing');
    expect(us('')).toBe('timestamp is missing');
    expect(us('yesterday')).toMatch(/not an ISO-8601 timestamp/);
    expect(us('12:30', 'ms')).toMatch(/not a number/);
    expect(us(T, 'iso')).toMatch(/expected an ISO-8601 string/);
    expect(us(Number.NaN, 's')).toMatch(/not a finite number/);
    expect(us({ t: 1 })).toMatch(/must be a number or a string/);
    expect(epochToUs(`${'9'.repeat(30)}`, 'us').ok).toBe(false);
  });

  it('uses typed instants as they are, whatever the format says', () => {
    expect(us(new Instant(BigInt(T * 1e6 + 3)), 'ms')).toBe(T * 1e6 + 3);
    expect(us(new Date(T * 1000), 's')).toBe(T * 1e6);
  });
});
