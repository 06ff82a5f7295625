import { expect } from 'vitest';
import { alertId, type Alert } from '../../../../core/schemas/alert.ts';
import { BAR_INTERVAL_US, type Bar } from '../../../../core/schemas/bar.ts';
import type { EnrichedTick } from '../../../../core/schemas/enriched.ts';
import type { Tick } from '../../../../core/schemas/tick.ts';
import type { RangeStats } from '../../../../lake/parquet.ts';
import { toColumns, type TableDef } from '../../../../lake/tables.ts';
import { T0, makeTicks } from '../../../unit/lake/fixtures.ts';

/** The rows of every table the interop test writes, and what a reader must find in them. */
export type Writer = 'sink' | 'compacted';
export interface LakeFile {
  label: string;
  writer: Writer;
  def: TableDef;
  path: string;
  /** The rows the file must hold (for compaction: one per key, bars at their highest revision). */
  rows: readonly unknown[];
  /** What the manifest records per row group: footer statistics must agree, or pruning would skip rows. */
  rowGroups: RangeStats[];
}

export interface ColumnSummary {
  nonNull: number;
  min?: string | number | null;
  max?: string | number | null;
  sum?: string | number;
  distinct?: number;
  elements?: number;
}
export interface Summary {
  rows: number;
  keys: number;
  symbols: string[];
  columns: Record<string, ColumnSummary>;
}

// ---- rows: every table, all in T0's event hour ----------------------------------------------------------

export const ticks = makeTicks(5200, { spanUs: 50 * 60_000_000 });
// Compaction inputs overlap by 200 ticks, and the last is a replay of the first 500: 6500 rows, 5200 ids.
export const rawInputs: Tick[][] = [
  ...[0, 1, 2, 3, 4].map((i) => ticks.slice(i * 1000, i * 1000 + 1200)),
  ticks.slice(0, 500),
];

export const enriched: EnrichedTick[] = ticks.slice(0, 2000).map((t, i) => {
  const known = t.symbol !== 'TSLA'; // not in the symbol master: reference fields stay null
  const trade = t.type === 'trade';
  return {
    ...t,
    ev: 1 as const,
    name: known ? `${t.symbol} Corp.` : null,
    sector: known ? (i % 2 ? 'Technology' : 'Consumer') : null,
    currency: known ? 'USD' : null,
    listingExchange: known ? 'XNAS' : null,
    mid: i < 2 ? null : 100.1 + (i % 40) / 16,
    spreadBps: i < 2 ? null : 2 + (i % 13) / 4,
    logReturn: trade && i > 3 ? ((i % 11) - 5) / 1e4 : null,
    sessionVwap: trade ? 100.2 + (i % 29) / 32 : null,
    ewmaVol: trade && i > 3 ? 1e-4 + (i % 7) / 1e5 : null,
    processedTs: t.ts + 2000 + (i % 5),
  };
});

export const BAR_SYMBOLS = Array.from({ length: 80 }, (_, i) => `S${String(i).padStart(2, '0')}`);
export function bar(s: number, minute: number, revision: number): Bar {
  const windowStart = T0 + minute * BAR_INTERVAL_US;
  const open = 50 + (s * 61 + minute) / 8;
  const close = open + (revision + 1) / 32;
  return {
    v: 1,
    symbol: BAR_SYMBOLS[s]!,
    windowStart,
    windowEnd: windowStart + BAR_INTERVAL_US,
    open,
    high: close + 0.5,
    low: open - 0.25,
    close,
    volume: 100 * (1 + (minute % 7)) + revision * 10,
    vwap: (open + close) / 2,
    trades: 5 + revision + (minute % 3),
    firstTs: windowStart + 1000,
    lastTs: windowStart + 59_000_000 + revision,
    revision,
  };
}
export const bars = (symbols: number[], minutes: number[], revision: number) =>
  symbols.flatMap((s) => minutes.map((m) => bar(s, m, revision)));
export const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
export const allSymbols = range(0, BAR_SYMBOLS.length);
export const evenSymbols = allSymbols.filter((s) => s % 2 === 0);
// Revision 0 of 55 minutes in two overlapping files, revision 1 for some, revision 2 for fewer, and a late
// replay of revision 0 after revision 1: compaction must keep the highest revision, not the last seen.
export const barInputs: Bar[][] = [
  bars(allSymbols, range(0, 30), 0),
  bars(allSymbols, range(25, 30), 0),
  bars(evenSymbols, range(10, 10), 1),
  [...bars(allSymbols, range(15, 3), 2), ...bars(allSymbols, range(10, 3), 0)],
];

export const RULES = ['zscore', 'spread_blowout', 'volume_spike'] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const alerts: Alert[] = range(0, 300).map((i) => {
  const rule = RULES[i % 3]!;
  const symbol = ['AAPL', 'MSFT', 'NVDA', 'TSLA'][i % 4]!;
  const windowStart = T0 + Math.floor(i / 12) * 60_000_000;
  const value = 3 + i / 16;
  return {
    v: 1,
    id: alertId(rule, symbol, windowStart),
    rule,
    symbol,
    severity: SEVERITIES[i % 7 === 0 ? 2 : i % 2]!,
    ts: windowStart + 30_000_000 + i,
    windowStart,
    value,
    threshold: 3,
    message: `${rule} on ${symbol}: ${value.toFixed(3)}`,
    emittedTs: windowStart + 61_000_000 + i,
  };
});

/** Independent of lake/order.ts: one row per key, the highest `keepMax` (first seen on ties). */
export function deduped<Row>(def: TableDef<Row>, rows: readonly Row[]): Row[] {
  const cols = toColumns(def, rows);
  const best = new Map<string, number>();
  rows.forEach((_, i) => {
    const key = JSON.stringify(def.dedupeKey.map((k) => cols[k]![i]));
    const at = best.get(key);
    if (at === undefined || (def.keepMax && (cols[def.keepMax]![i] as number) > (cols[def.keepMax]![at] as number)))
      best.set(key, i);
  });
  return [...best.values()].map((i) => rows[i]!);
}

// ---- what each reader must report, from the rows ---------------------------------------------------------

export function expectedSummary(def: TableDef, rows: readonly unknown[]): Summary {
  const cols = toColumns(def, rows);
  const columns: Record<string, ColumnSummary> = {};
  for (const c of def.columns) {
    const values = cols[c.name]!.filter((v) => v !== null);
    const nonNull = values.length;
    if (c.kind === 'ts' || c.kind === 'i64' || c.kind === 'i32') {
      // BigInt: a sum of µs timestamps passes 2^53.
      const n = (values as number[]).map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const sum = n.reduce((a, b) => a + b, 0n).toString();
      columns[c.name] = { nonNull, min: n[0]?.toString() ?? null, max: n.at(-1)?.toString() ?? null, sum };
    } else if (c.kind === 'f64') {
      const n = (values as number[]).toSorted((a, b) => a - b);
      const sum = n.reduce((a, b) => a + b, 0);
      columns[c.name] = { nonNull, min: n[0] ?? null, max: n.at(-1) ?? null, sum };
    } else if (c.kind === 'strlist') {
      columns[c.name] = { nonNull, elements: (values as string[][]).reduce((a, l) => a + l.length, 0) };
    } else {
      const s = [...new Set(values as string[])].sort();
      columns[c.name] = { nonNull, distinct: s.length, min: s[0] ?? null, max: s.at(-1) ?? null };
    }
  }
  const keys = new Set(rows.map((_, i) => JSON.stringify(def.dedupeKey.map((k) => cols[k]![i]))));
  const symbols = [...new Set(cols[def.symbolColumn] as string[])].sort();
  return { rows: rows.length, keys: keys.size, symbols, columns };
}

/** Float sums depend on summation order: compared to 1e-12 relative, everything else exactly. */
export function expectSameSummary(got: Summary, want: Summary, label: string): void {
  const apart = (s: Summary) => {
    const sums: Record<string, number> = {};
    const columns = Object.fromEntries(
      Object.entries(s.columns).map(([name, c]) => {
        if (typeof c.sum !== 'number') return [name, c];
        sums[name] = c.sum;
        return [name, { ...c, sum: 'float' }];
      }),
    );
    return { exact: { ...s, columns }, sums };
  };
  const g = apart(got);
  const w = apart(want);
  expect(g.exact, label).toEqual(w.exact);
  expect(Object.keys(g.sums).sort(), label).toEqual(Object.keys(w.sums).sort());
  for (const [name, sum] of Object.entries(w.sums)) {
    expect(Math.abs(g.sums[name]! - sum), `${label} sum(${name})`).toBeLessThanOrEqual(1e-12 * Math.abs(sum));
  }
}

/** One physical schema whichever writer made the file (lake/columns.ts arrowSchema; DuckDB for compaction). */
