import { describe, expect, it } from 'vitest';
import {
  daySeq,
  hashKey,
  kindSeq,
  MAX_ORDINAL,
  nyTradingDay,
  TimeOrdinals,
} from '../../../../../streaming/sources/feeds/seq.ts';

describe('seq building', () => {
  it('keeps trades even and quotes odd, and refuses what would not stay a safe integer', () => {
    expect(kindSeq('trade', 101)).toBe(202);
    expect(kindSeq('quote', 101)).toBe(203);
    expect(kindSeq('trade', 2 ** 52)).toBeUndefined();
    expect(kindSeq('quote', 2 ** 52 - 1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(kindSeq('trade', -1)).toBeUndefined();
  });

  it('maps a whole US session, winter and summer, onto its New York date', () => {
    const day = (iso: string) => nyTradingDay(Date.parse(iso));
    // Winter (UTC-5): 04:00 and 20:00 New York are 09:00 and 01:00 (next day) UTC.
    expect(day('2024-01-10T09:00:00Z')).toBe(day('2024-01-11T00:59:59Z'));
    // Summer (UTC-4): 04:00 and 20:00 New York are 08:00 and 00:00 (next day) UTC.
    expect(day('2024-07-10T08:00:00Z')).toBe(day('2024-07-11T00:00:00Z'));
    expect(day('2024-07-11T08:00:00Z')).toBe(day('2024-07-10T08:00:00Z') + 1);
    expect(day('2024-03-01T14:30:00Z')).toBe(19783);
  });

  it('packs a per-day sequence so the same q on two days differs', () => {
    expect(daySeq(19783, 5)).not.toBe(daySeq(19784, 5));
    expect(daySeq(19783, 2 ** 34)).toBeUndefined();
    expect(kindSeq('quote', daySeq(40000, 2 ** 34 - 1)!)).toBeDefined();
  });

  it('hashes keys into 52 bits, deterministically', () => {
    const h = hashKey('AAPL|19783|V|52983525029461');
    expect(h).toBe(hashKey('AAPL|19783|V|52983525029461'));
    expect(h).not.toBe(hashKey('AAPL|19783|D|52983525029461'));
    expect(h).toBeLessThan(2 ** 52);
    expect(Number.isSafeInteger(kindSeq('trade', h))).toBe(true);
  });

  it('numbers events within a millisecond per kind and symbol, and stops at the ordinal limit', () => {
    const o = new TimeOrdinals(10);
    expect(o.next('trade', 'AAPL', 1000)).toBe(1_000_000);
    expect(o.next('trade', 'AAPL', 1000)).toBe(1_000_001);
    expect(o.next('quote', 'AAPL', 1000)).toBe(1_000_000);
    expect(o.next('trade', 'MSFT', 1000)).toBe(1_000_000);
    expect(o.next('trade', 'AAPL', 999)).toBe(999_000);
    expect(o.next('trade', 'AAPL', 1000)).toBe(1_000_002); // back to an earlier ms: its count is remembered
    for (let i = 3; i <= MAX_ORDINAL; i++) o.next('trade', 'AAPL', 1000);
    expect(o.next('trade', 'AAPL', 1000)).toBeUndefined();
  });

  it('forgets the least recently used buckets beyond its capacity', () => {
    const o = new TimeOrdinals(2);
    o.next('trade', 'A', 1);
    o.next('trade', 'A', 2);
    o.next('trade', 'A', 3);
    expect(o.next('trade', 'A', 1)).toBe(1000); // forgotten: numbering restarts
    expect(o.next('trade', 'A', 3)).toBe(3001);
  });
});
