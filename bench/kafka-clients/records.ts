import type { BenchRecord } from './driver.ts';

/** The benchmark's records: JSON trade ticks of ~200 B, keyed by one of 50 symbols, each with a unique id. */

export const SYMBOLS = Array.from({ length: 50 }, (_, i) => `SYM${String(i).padStart(2, '0')}`);
const T0_US = 1_767_225_600_000_000;

export interface TickValue {
  id: string;
  symbol: string;
  /** Which concurrent send (probe) or 0. */
  send: number;
  /** Position of the record in its send, per symbol increasing. */
  seq: number;
}

/** `n` records; ids are `<tag>-<send>-<i>`. Deterministic: the same arguments give the same bytes. */
export function makeRecords(n: number, tag: string, send = 0): BenchRecord[] {
  const out: BenchRecord[] = new Array(n);
  let x = 0x9e3779b9 ^ (send * 7919);
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const symbol = SYMBOLS[(i + send * 7) % SYMBOLS.length]!;
    const ts = T0_US + i * 1000;
    const value = {
      v: 1,
      id: `${tag}-${send}-${i}`,
      source: 'bench',
      symbol,
      send,
      seq: i,
      type: 'trade',
      ts,
      recvTs: ts + 800,
      price: Math.round((100 + (x % 5000) / 100) * 10_000) / 10_000,
      size: 1 + (x % 500),
      exchange: 'XNAS',
      conditions: ['@', 'T'],
    };
    out[i] = { key: symbol, value: Buffer.from(JSON.stringify(value)) };
  }
  return out;
}

export function parseTick(value: Buffer | null): TickValue | undefined {
  if (!value) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as TickValue;
  } catch {
    return undefined;
  }
}

export function meanValueBytes(records: BenchRecord[]): number {
  let sum = 0;
  for (const r of records) sum += r.value.length;
  return records.length ? sum / records.length : 0;
}
