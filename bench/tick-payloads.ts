import { SeededRandom } from '../core/seeded-random.ts';
import { tickId } from '../core/schemas/tick.ts';

/** 2026-01-01T00:00:00Z in µs: the "now" the benchmark payloads are stamped around. */
export const BENCH_NOW_US = 1_767_225_600_000_000;
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'SPY', 'QQQ', 'BRK.B', 'JPM'];

/**
 * Realistic `ticks.raw` values: 30% trades, 70% quotes, one per ms of event time (so bars close), 4% faults
 * (negative price, ms timestamp, empty symbol, truncated JSON), 1% redeliveries of an earlier record.
 */
export function makePayloads(n: number, seed = 1): Buffer[] {
  const rng = new SeededRandom(seed);
  const out: Buffer[] = [];
  for (let seq = 0; seq < n; seq++) {
    if (out.length > 0 && rng.uniform() < 0.01) {
      out.push(out[out.length - 1 - rng.int(Math.min(out.length, 100))] as Buffer);
      continue;
    }
    const symbol = rng.pick(SYMBOLS);
    const ts = BENCH_NOW_US - 5_000_000 - (n - seq) * 1000;
    const base = { v: 1, id: tickId('synth', symbol, seq), source: 'synth', symbol, seq, ts, recvTs: ts + 800 };
    const mid = 100 + rng.uniform() * 50;
    let tick: Record<string, unknown> =
      rng.uniform() < 0.3
        ? { ...base, type: 'trade', price: mid, size: 1 + rng.int(500), exchange: 'XNAS' }
        : { ...base, type: 'quote', bid: mid - 0.01, bidSize: rng.int(900), ask: mid + 0.01, askSize: rng.int(900) };
    const fault = rng.uniform();
    if (fault < 0.01) tick = { ...tick, price: -1, bid: -1 };
    else if (fault < 0.02) tick = { ...tick, ts: ts / 1000 };
    else if (fault < 0.03) tick = { ...tick, symbol: '' };
    const json = JSON.stringify(tick);
    out.push(Buffer.from(fault >= 0.03 && fault < 0.04 ? json.slice(0, -3) : json));
  }
  return out;
}

/** Median records/s over `runs` timed passes after one warm-up pass; prints one line. */
export function measure(name: string, runs: number, payloads: Buffer[], fn: (b: Buffer) => boolean): number {
  const rates: number[] = [];
  let accepted = 0;
  for (let r = 0; r < runs + 1; r++) {
    accepted = 0;
    const t0 = process.hrtime.bigint();
    for (const p of payloads) if (fn(p)) accepted++;
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r > 0) rates.push(payloads.length / seconds);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  const rate = Math.round(median).toLocaleString('en-US').padStart(12);
  console.log(`${name.padEnd(34)} ${rate} records/s  (accepted ${accepted})`);
  return median;
}
