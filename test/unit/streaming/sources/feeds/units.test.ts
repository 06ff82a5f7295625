import { describe, expect, it } from 'vitest';
import { isoToUs, msToUs, nsToUs, toNumber, toSafeInt } from '../../../../../streaming/sources/feeds/units.ts';

describe('vendor time units -> µs', () => {
  it('converts unix ms and ns', () => {
    expect(msToUs(1_709_303_400_123)).toBe(1_709_303_400_123_000);
    expect(nsToUs('1709303400123456789')).toBe(1_709_303_400_123_456);
    expect(nsToUs(1_709_303_400_123_456)).toBe(1_709_303_400_123);
    for (const bad of [1.5, -1, 0, '1709303400123', null, Number.MAX_SAFE_INTEGER]) expect(msToUs(bad)).toBeUndefined();
    expect(nsToUs('12ab')).toBeUndefined();
  });

  it('reads RFC-3339 fractions exactly, truncating below the µs', () => {
    expect(isoToUs('2024-03-01T14:30:00Z')).toBe(1_709_303_400_000_000);
    expect(isoToUs('2024-03-01T14:30:00.5Z')).toBe(1_709_303_400_500_000);
    expect(isoToUs('2024-03-01T14:30:00.123456Z')).toBe(1_709_303_400_123_456);
    expect(isoToUs('2024-03-01T14:30:00.123456789Z')).toBe(1_709_303_400_123_456);
    expect(isoToUs('2024-03-01T09:30:00.000001-05:00')).toBe(1_709_303_400_000_001);
    expect(isoToUs('2024-03-01T16:30:00+0200')).toBe(1_709_303_400_000_000);
  });

  it('rejects what is not an exact timestamp', () => {
    for (const bad of [
      '2024-02-30T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-03-01T14:30:00',
      '1709303400',
      1_709_303_400,
      '',
    ]) {
      expect(isoToUs(bad)).toBeUndefined();
    }
  });

  it('reads decimal strings and ids', () => {
    expect(toNumber('61234.56')).toBe(61234.56);
    expect(toNumber(' 1e-3 ')).toBe(0.001);
    expect(toNumber('NaN')).toBeUndefined();
    expect(toNumber(Infinity)).toBeUndefined();
    expect(toNumber('')).toBeUndefined();
    expect(toSafeInt('370843401')).toBe(370843401);
    expect(toSafeInt(12.5)).toBeUndefined();
    expect(toSafeInt('99999999999999999')).toBeUndefined();
  });
});
