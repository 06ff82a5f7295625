import { afterEach, describe, expect, it, afterAll } from 'vitest';
import type { z } from 'zod';
import { alertSchema, type Alert } from '../../../core/schemas/alert.ts';
import { barSchema, type Bar } from '../../../core/schemas/bar.ts';
import { enrichedTickSchema, type EnrichedTick } from '../../../core/schemas/enriched.ts';
import { tickSchema, type Tick } from '../../../core/schemas/tick.ts';
import { SeededRandom } from '../../../core/seeded-random.ts';
import { fromRecordBatch } from '../../../lake/columns.ts';
import { compactPartition } from '../../../lake/compaction.ts';
import { DuckDb } from '../../../lake/duckdb.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { decodeParquet, encodeParquet } from '../../../lake/parquet.ts';
import { readRows, scanColumns } from '../../../lake/reader.ts';
import {
  alertsTable,
  barsTable,
  enrichedTable,
  fromColumns,
  rawTable,
  toColumns,
  type TableDef,
} from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { T0, collect, tempStorage } from './fixtures.ts';

/**
 * The one declaration per table serves both directions: random rows of every table go rows -> columns -> Parquet ->
 * columns -> rows and come back equal (strictly: an absent optional field stays absent, a null stays null) and
 * valid by the core's schemas; through the lake too (writer, manifest, readRows).
 */
const SYMBOLS = ['AAPL', 'BRK.B', 'MSFT', 'X'];

class Gen {
  private readonly rng: SeededRandom;
  constructor(seed: number) {
    this.rng = new SeededRandom(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng.uniform() * (hi - lo + 1));
  }
  bool(p = 0.5): boolean {
    return this.rng.uniform() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  /** Positive doubles of every magnitude, not just round ones. */
  price(): number {
    return this.rng.uniform() * 10 ** this.int(-3, 5) + Number.EPSILON;
  }
  maybe<T>(p: number, f: () => T): T | null {
    return this.bool(p) ? f() : null;
  }
  text(): string {
    return this.pick(['', 'é', 'crossed 2σ band', 'a'.repeat(this.int(1, 40)), '引用 "quoted"']);
  }
}

function tick(g: Gen, i: number): Tick {
  const symbol = g.pick(SYMBOLS);
  const ts = T0 + g.int(0, 3_599_999_999);
  const base = {
    v: 1 as const,
    id: `syn:${symbol}:${i}`,
    source: 'syn',
    symbol,
    seq: i,
    ts,
    recvTs: ts + g.int(0, 9e6),
  };
  // Optional fields absent, or present (an empty list is a value too).
  const opt = {
    ...(g.bool() ? { exchange: g.pick(['XNAS', 'XNYS', '']) } : {}),
    ...(g.bool() ? { conditions: g.pick([[], ['@'], ['@', 'T', 'I']]) } : {}),
  };
  if (g.bool()) return { ...base, ...opt, type: 'trade', price: g.price(), size: g.int(1, 1e6) / g.pick([1, 100]) };
  const bid = g.price();
  return {
    ...base,
    ...opt,
    type: 'quote',
    bid,
    bidSize: g.int(0, 5000),
    ask: bid + g.pick([0, 0.01, g.price()]),
    askSize: g.int(0, 5000),
  };
}

function enriched(g: Gen, i: number): EnrichedTick {
  const t = tick(g, i);
  return {
    ...t,
    ev: 1,
    name: g.maybe(0.7, () => g.text()),
    sector: g.maybe(0.7, () => g.pick(['Tech', 'Energy'])),
    currency: g.maybe(0.7, () => 'USD'),
    listingExchange: g.maybe(0.7, () => 'XNAS'),
    mid: g.maybe(0.8, () => g.price()),
    spreadBps: g.maybe(0.8, () => g.price()),
    logReturn: g.maybe(0.5, () => g.price() - g.price()),
    sessionVwap: g.maybe(0.6, () => g.price()),
    ewmaVol: g.maybe(0.5, () => g.price() / 1e3),
    processedTs: t.ts + g.int(0, 5e6),
  };
}

function bar(g: Gen, i: number): Bar {
  const low = g.price();
  const high = low + g.price();
  const windowStart = T0 + i * 60_000_000;
  return {
    v: 1,
    symbol: g.pick(SYMBOLS),
    windowStart,
    windowEnd: windowStart + 60_000_000,
    open: low + (high - low) * g.int(0, 10) * 0.1,
    high,
    low,
    close: low,
    volume: g.int(0, 1e9) / 7,
    vwap: (low + high) / 2,
    trades: g.int(1, 2 ** 40),
    firstTs: windowStart + g.int(0, 29e6),
    lastTs: windowStart + g.int(30e6, 59e6),
    revision: g.int(0, 2 ** 31 - 1),
  };
}

function alert(g: Gen, i: number): Alert {
  const ts = T0 + g.int(0, 3_599_999_999);
  const symbol = g.pick(SYMBOLS);
  return {
    v: 1,
    id: `spread:${symbol}:${i}`,
    rule: g.pick(['spread', 'volume_spike']),
    symbol,
    severity: g.pick(['info', 'warning', 'critical'] as const),
    ts,
    windowStart: ts - (ts % 60_000_000),
    value: g.price() - g.price(),
    threshold: g.price(),
    message: g.text(),
    emittedTs: ts + g.int(0, 1e6),
  };
}

interface Case<Row> {
  def: TableDef<Row>;
  schema: z.ZodType;
  gen: (g: Gen, i: number) => Row;
  key: (r: Row) => string;
}
const CASES = [
  { def: rawTable, schema: tickSchema, gen: tick, key: (r: Tick) => r.id } satisfies Case<Tick>,
  {
    def: enrichedTable,
    schema: enrichedTickSchema,
    gen: enriched,
    key: (r: EnrichedTick) => r.id,
  } satisfies Case<EnrichedTick>,
  { def: barsTable, schema: barSchema, gen: bar, key: (r: Bar) => `${r.symbol}@${r.windowStart}` } satisfies Case<Bar>,
  { def: alertsTable, schema: alertSchema, gen: alert, key: (r: Alert) => r.id } satisfies Case<Alert>,
] as Case<unknown>[];

const range = (start: number, end: number): SourceRange => ({
  topic: 't',
  partition: 0,
  startOffset: String(start),
  endOffset: String(end),
});

describe('typed rows: one declaration, both directions', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());

  for (const { def, schema, gen } of CASES) {
    it(`${def.name}: rows -> columns -> Parquet -> rows are the same rows, valid core types (20 seeds)`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const g = new Gen(seed);
        const rows = Array.from({ length: g.int(1, 300) }, (_, i) => gen(g, i));
        const bytes = encodeParquet(def.columns, toColumns(def, rows), rows.length, { rowGroupRows: 64 });
        const back = decodeParquet(bytes).flatMap((b) => fromColumns(def, fromRecordBatch(def.columns, b)));
        expect(back).toStrictEqual(rows);
        for (const r of back) expect(schema.safeParse(r).success).toBe(true);
      }
    });
  }

  it('maps trades and quotes each onto their own fields, with absent optionals left absent', () => {
    const g = new Gen(7);
    const rows = Array.from({ length: 200 }, (_, i) => tick(g, i));
    const back = fromColumns(rawTable, toColumns(rawTable, rows));
    const trades = back.filter((t) => t.type === 'trade');
    const quotes = back.filter((t) => t.type === 'quote');
    expect(trades.length).toBeGreaterThan(50);
    expect(quotes.length).toBeGreaterThan(50);
    for (const t of trades) expect(Object.keys(t)).not.toContain('bid');
    for (const q of quotes) expect(Object.keys(q)).not.toContain('price');
    expect(back.some((t) => !('exchange' in t))).toBe(true);
    expect(back.some((t) => Array.isArray(t.conditions) && t.conditions.length === 0)).toBe(true);
  });

  for (const { def, schema, gen, key } of CASES) {
    it(`${def.name}: through the lake, readRows gives back what was written`, async () => {
      const t = await tempStorage();
      cleanup = t.cleanup;
      const g = new Gen(42);
      const rows = Array.from({ length: 500 }, (_, i) => gen(g, i));
      const lake = new LakeWriter(t.storage, { rowGroupRows: 128 });
      await lake.commit(def, await lake.writeFile(def, rows, range(0, rows.length - 1)));
      const read = await collect(readRows(t.storage, def));
      const partitions = read.map((p) => p.partition);
      expect(partitions).toEqual([...new Set(rows.map((r) => partitionOf(cellTime(def, r))))].sort());
      const byKey = (xs: unknown[]) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
      expect(byKey(read.flatMap((p) => p.rows))).toStrictEqual(byKey(rows));
      for (const r of read.flatMap((p) => p.rows)) expect(schema.safeParse(r).success).toBe(true);
    });
  }
});

/** The event time a row is partitioned by (its table's time column's field). */
function cellTime(def: TableDef<unknown>, row: unknown): number {
  const field = def.columns.find((c) => c.name === def.timeColumn)!.field;
  return (row as Record<string, number>)[field]!;
}

describe('readRows keeps what compaction keeps', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());
  const duckdb = new DuckDb({ threads: 1 });
  afterAll(() => duckdb.close());
  const P = partitionOf(T0);

  it('ticks delivered twice: one row per id, equal to the compacted file', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const g = new Gen(3);
    const ticks = Array.from({ length: 400 }, (_, i) => tick(g, i));
    const lake = new LakeWriter(t.storage, { rowGroupRows: 64 });
    // Three files of one hour; the second and third redeliver ticks of the first (overlapping batches).
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks.slice(0, 250), range(0, 249)));
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks.slice(150, 400), range(250, 499)));
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks.slice(0, 50), range(500, 549)));
    const before = (await collect(readRows(t.storage, rawTable))).flatMap((p) => p.rows);
    expect(before).toHaveLength(400);
    expect(new Set(before.map((r) => r.id)).size).toBe(400);

    expect(await compactPartition({ storage: t.storage, duckdb }, rawTable, P)).toMatchObject({
      status: 'committed',
      rowsOut: 400,
    });
    const compacted = (await collect(scanColumns(t.storage, rawTable))).flatMap((c) => fromColumns(rawTable, c));
    // Same rows in the same order: readRows sorts as compaction writes.
    expect(before).toStrictEqual(compacted);
    expect((await collect(readRows(t.storage, rawTable))).flatMap((p) => p.rows)).toStrictEqual(compacted);
  });

  it('bars re-emitted: the highest revision per (symbol, window), equal to the compacted file', async () => {
    const t = await tempStorage();
    cleanup = t.cleanup;
    const g = new Gen(5);
    const first = Array.from({ length: 60 }, (_, i) => ({ ...bar(g, i), symbol: SYMBOLS[i % 2]!, revision: 0 }));
    // Revisions of some bars, spread over later files and out of order (revision 2 lands before revision 1).
    const rev = (b: Bar, revision: number): Bar => ({
      ...b,
      revision,
      close: b.close + revision,
      volume: b.volume + revision,
    });
    const rev2 = first.filter((_, i) => i % 3 === 0).map((b) => rev(b, 2));
    const rev1 = first.filter((_, i) => i % 2 === 0).map((b) => rev(b, 1));
    const lake = new LakeWriter(t.storage);
    await lake.commit(barsTable, await lake.writeFile(barsTable, first, range(0, 59)));
    await lake.commit(barsTable, await lake.writeFile(barsTable, rev2, range(60, 79)));
    await lake.commit(barsTable, await lake.writeFile(barsTable, rev1, range(80, 109)));

    const expected = new Map(first.map((b) => [`${b.symbol}@${b.windowStart}`, b]));
    for (const b of [...rev1, ...rev2]) {
      const k = `${b.symbol}@${b.windowStart}`;
      if (b.revision > expected.get(k)!.revision) expected.set(k, b);
    }
    const before = (await collect(readRows(t.storage, barsTable))).flatMap((p) => p.rows);
    expect(before).toHaveLength(60);
    for (const b of before) expect(b).toStrictEqual(expected.get(`${b.symbol}@${b.windowStart}`));
    expect(before.filter((b) => b.revision === 2)).toHaveLength(20);

    expect(await compactPartition({ storage: t.storage, duckdb }, barsTable, P)).toMatchObject({
      status: 'committed',
      rowsOut: 60,
    });
    const compacted = (await collect(scanColumns(t.storage, barsTable))).flatMap((c) => fromColumns(barsTable, c));
    expect(before).toStrictEqual(compacted);
  });
});
