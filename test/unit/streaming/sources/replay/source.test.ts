import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Float64,
  Table,
  TimestampMicrosecond,
  makeData,
  makeVector,
  tableFromArrays,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../../../core/errors.ts';
import { tickSchema } from '../../../../../core/schemas/tick.ts';
import { createReplaySource } from '../../../../../streaming/sources/replay/source.ts';
import type { ReplayOptionsInput } from '../../../../../streaming/sources/replay/options.ts';
import type { SourceRecord } from '../../../../../streaming/sources/source.ts';
import { FakeClock } from './fake-clock.ts';

const FIXTURES = new URL('../../../../fixtures/replay/', import.meta.url).pathname;
const T = 1_709_562_600_000_000; // 2024-03-04T14:30:00Z in µs

async function replay(input: Partial<ReplayOptionsInput> & { files: string[] }, clock?: FakeClock) {
  const src = createReplaySource({ progress: false, ...input }, { clock });
  const records: SourceRecord[] = [];
  for await (const batch of src.batches(new AbortController().signal)) records.push(...batch);
  await src.close();
  return { records, values: records.map((r) => String(r.value)), stats: src.stats() };
}

function parsed(values: string[]): Array<Record<string, unknown>> {
  return values.map((v) => JSON.parse(v) as Record<string, unknown>);
}

const valid = (v: string) => {
  try {
    return tickSchema.safeParse(JSON.parse(v)).success;
  } catch {
    return false;
  }
};

let parquetFile = '';

beforeAll(() => {
  // Parquet fixture written here rather than committed: int64 ns, TIMESTAMP(MICROS, UTC), doubles with a null.
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  parquetFile = join(dir, 'vendor-trades.parquet');
  const tsUs = [T + 1, T + 250_000, T + 1_000_000, T + 2_000_000];
  const base = tableFromArrays({
    sym: ['AAPL', 'MSFT', 'AAPL', 'MSFT'],
    t_ns: BigInt64Array.from(tsUs.map((t) => BigInt(t) * 1000n + 999n)),
    qty: BigInt64Array.from([100n, 200n, 300n, 400n]),
  });
  const typed = new Table({
    t_us: makeVector(
      makeData({ type: new TimestampMicrosecond('UTC'), length: 4, data: BigInt64Array.from(tsUs.map(BigInt)) }),
    ),
    px: vectorFromArray([179.51, 411.2, null, 411.35], new Float64()),
  });
  const table = base.assign(typed);
  writeFileSync(parquetFile, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream'))));
});

describe('replay source', () => {
  it('replays a vendor CSV through a column mapping, with ISO times in several shapes', async () => {
    const { records, values, stats } = await replay({
      files: [FIXTURES + 'trades-vendor.csv'],
      columns: { symbol: 'ticker', ts: 'time', price: 'px', size: 'qty', exchange: 'venue' },
    });
    expect(records.map((r) => r.key)).toEqual(['AAPL', 'MSFT', 'AAPL', 'MSFT', 'AAPL', '', 'AAPL', 'MSFT']);
    // Line 7 is a field short: a ragged line cannot be mapped to columns reliably, so it goes on as raw text.
    expect(records[5]?.value).toBe('AAPL,2024-03-04T09:30:04-05:00,179.58,25\n');
    const ticks = parsed(values.filter((_, i) => i !== 5));
    expect(ticks[0]).toEqual({
      v: 1,
      id: 'trades-vendor:AAPL:2',
      source: 'trades-vendor',
      symbol: 'AAPL',
      seq: 2,
      type: 'trade',
      ts: T + 1,
      recvTs: T + 1,
      exchange: 'XNAS',
      price: 179.51,
      size: 100,
    });
    expect(ticks.map((t) => t.ts)).toEqual([
      T + 1,
      T + 250_000,
      T + 1_500_000,
      T + 2_000_000,
      T + 3_123_456,
      'not-a-time',
      T + 5_000_000,
    ]);
    // Line 5 (price "abc"), line 7 (a field short) and line 8 (bad time) are passed on, not dropped.
    expect(values.map(valid)).toEqual([true, true, true, false, true, false, false, true]);
    expect(ticks[3]).toMatchObject({ price: 'abc', replayLine: 5, replayFile: 'trades-vendor.csv' });
    expect(String(ticks[3]?.replayError)).toMatch(/px: "abc" is not a number/);
    expect(ticks[5]).toMatchObject({ ts: 'not-a-time', replayLine: 8 });
    expect(stats.counters).toMatchObject({ rows: 8, malformedRows: 3, unparseableRows: 1, files: 1 });
    expect(stats.emitted).toBe(8);
  });

  it('replays NDJSON quotes with ns text times and passes unparseable lines through verbatim', async () => {
    const { records, values, stats } = await replay({
      files: [FIXTURES + 'quotes-ns.ndjson'],
      kind: 'quotes',
      timestampFormat: 'ns',
      columns: { symbol: 'sym', ts: 't', bid: 'b', bidSize: 'bs', ask: 'a', askSize: 'as' },
    });
    expect(values).toHaveLength(6);
    expect(values.map(valid)).toEqual([true, true, true, false, false, true]);
    expect(records[3]).toEqual({
      key: '',
      value: '{"sym":"MSFT","t":"1709562601250000000","b":411.12,"bs":100,"a":411.25',
    });
    expect(records[4]?.value).toBe('["not","an","object"]');
    const q = JSON.parse(values[0] as string) as Record<string, unknown>;
    expect(q).toMatchObject({ type: 'quote', ts: T + 1, bid: 179.5, bidSize: 300, ask: 179.52, askSize: 200 });
    // seq = line number (the blank line 3 still counts), so ids do not depend on what came before.
    expect(parsed([values[2] as string])[0]?.id).toBe('quotes-ns:MSFT:4');
    expect(stats.counters).toMatchObject({ rows: 6, malformedRows: 2, unparseableRows: 2 });
  });

  it('turns each bar into four trades that aggregate back to the same OHLCV', async () => {
    const { values, stats } = await replay({ files: [FIXTURES + 'bars-1m.csv'], kind: 'bars' });
    const trades = parsed(values).filter((t) => valid(JSON.stringify(t)));
    const bars = new Map<string, { o: number; h: number; l: number; c: number; v: number; n: number }>();
    for (const t of trades) {
      const ts = t.ts as number;
      const key = `${t.symbol}@${ts - (ts % 60_000_000)}`;
      const p = t.price as number;
      const b = bars.get(key);
      if (b === undefined) bars.set(key, { o: p, h: p, l: p, c: p, v: t.size as number, n: 1 });
      else
        Object.assign(b, { h: Math.max(b.h, p), l: Math.min(b.l, p), c: p, v: b.v + (t.size as number), n: b.n + 1 });
    }
    expect(Object.fromEntries(bars)).toEqual({
      [`AAPL@${T}`]: { o: 179.5, h: 180.1, l: 179.4, c: 180, v: 12000, n: 4 },
      [`AAPL@${T + 60_000_000}`]: { o: 180, h: 180.05, l: 179.2, c: 179.3, v: 8000, n: 4 },
      [`MSFT@${T + 60_000_000}`]: { o: 411.5, h: 411.9, l: 411.4, c: 411.8, v: 4000, n: 4 },
    });
    // The zero-volume bar yields no trades; the inconsistent MSFT bar (high < low) is one malformed record.
    expect(stats.counters).toMatchObject({ rows: 5, emptyBars: 1, malformedRows: 1 });
    const bad = parsed(values).filter((t) => 'replayError' in t);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ symbol: 'MSFT', high: 410, low: 412, replayLine: 5 });
    // Up bar: open, low, high, close; ids are line·4 + k.
    expect(trades.slice(0, 4).map((t) => [t.id, t.price, (t.ts as number) - T])).toEqual([
      ['bars-1m:AAPL:8', 179.5, 0],
      ['bars-1m:AAPL:9', 179.4, 20_000_000],
      ['bars-1m:AAPL:10', 180.1, 40_000_000],
      ['bars-1m:AAPL:11', 180, 59_999_999],
    ]);
  });

  it('reads bar times labelled by window end when told so', async () => {
    const { values } = await replay({ files: [FIXTURES + 'bars-1m.csv'], kind: 'bars', bars: { timestamp: 'end' } });
    expect((JSON.parse(values[0] as string) as { ts: number }).ts).toBe(T - 60_000_000);
  });

  it('replays mixed trades and quotes with a seq column where present', async () => {
    const { values } = await replay({ files: [FIXTURES + 'mixed-us.ndjson'], kind: 'mixed', source: 'capture' });
    const ticks = parsed(values);
    expect(ticks.map((t) => [t.type, t.id])).toEqual([
      ['quote', 'capture:SPY:1'],
      ['trade', 'capture:SPY:42'],
      ['trade', 'capture:SPY:43'],
      ['cancel', 'capture:SPY:4'],
      ['quote', 'capture:SPY:5'],
    ]);
    expect(values.map(valid)).toEqual([true, true, true, false, true]);
  });

  it('passes a CSV record with broken quoting through as raw text', async () => {
    const { records, values } = await replay({ files: [FIXTURES + 'trades-ms.csv'] });
    expect(values.map(valid)).toEqual([true, true, true, true, true, false]);
    expect(records[5]).toEqual({ key: '', value: 'IBM,1709562601200,190.16,"unclosed\n' });
    expect(parsed(values.slice(0, 5)).map((t) => t.ts)).toEqual([
      T,
      T + 10_000,
      T + 30_000,
      T + 100_000,
      T + 1_100_000,
    ]);
  });

  it('replays Parquet with TIMESTAMP(MICROS) and int64 ns columns exactly', async () => {
    const columns = { symbol: 'sym', price: 'px', size: 'qty' };
    const a = await replay({ files: [parquetFile], columns: { ...columns, ts: 't_us' } });
    const b = await replay({ files: [parquetFile], columns: { ...columns, ts: 't_ns' }, timestampFormat: 'ns' });
    expect(a.values).toEqual(b.values);
    const ticks = parsed(a.values);
    expect(ticks.map((t) => t.ts)).toEqual([T + 1, T + 250_000, T + 1_000_000, T + 2_000_000]);
    expect(ticks[0]).toMatchObject({ id: 'vendor-trades:AAPL:1', price: 179.51, size: 100 });
    // Row 3 has a null price: passed on as a record the processor rejects, with the reason inside.
    expect(a.values.map(valid)).toEqual([true, true, false, true]);
    expect(ticks[2]).toMatchObject({ replayError: 'px: missing', replayLine: 3 });
  });

  it('gives byte-identical output on every replay and keeps ids apart between files', async () => {
    const files = [FIXTURES + 'trades-ms.csv', FIXTURES + 'mixed-us.ndjson'];
    const first = await replay({ files, kind: 'mixed', columns: { type: 'type' } });
    const second = await replay({ files, kind: 'mixed' });
    expect(first.values).toEqual(second.values);
    const sources = new Set(parsed(first.values.filter(valid)).map((t) => t.source));
    expect(sources).toEqual(new Set(['mixed-us']));
    expect(first.stats.counters.files).toBe(2);
  });

  it('stamps recvTs with the wall clock when asked', async () => {
    const before = Date.now() * 1000;
    const { values } = await replay({ files: [FIXTURES + 'trades-ms.csv'], recvTs: 'wall' });
    const recv = (JSON.parse(values[0] as string) as { recvTs: number }).recvTs;
    expect(recv).toBeGreaterThanOrEqual(before);
    expect(recv).toBeLessThanOrEqual(Date.now() * 1000);
  });

  it('paces by the file event-time gaps divided by speed', async () => {
    const clock = new FakeClock();
    const start = clock.nowMs;
    const { values } = await replay({ files: [FIXTURES + 'trades-ms.csv'], speed: 10 }, clock);
    expect(values).toHaveLength(6);
    // Gaps 10, 20, 70 and 1000 ms at ×10; the raw last record has no time and goes out at once.
    expect(clock.sleeps).toEqual([1, 2, 7, 100]);
    expect(clock.nowMs - start).toBe(110);
  });

  it('draws a progress line only when enabled', async () => {
    const lines: string[] = [];
    const src = createReplaySource(
      { files: [FIXTURES + 'bars-1m.csv'], kind: 'bars', progress: true },
      { writeProgress: (t) => lines.push(t) },
    );
    for await (const _ of src.batches(new AbortController().signal));
    expect(lines.join('')).toMatch(/replay 1\/1 bars-1m\.csv {2}5 rows {2}100\.0% {2}[\d,]+ rows\/s/);
    const quiet: string[] = [];
    const off = createReplaySource(
      { files: [FIXTURES + 'bars-1m.csv'], progress: false },
      { writeProgress: (t) => quiet.push(t) },
    );
    for await (const _ of off.batches(new AbortController().signal));
    expect(quiet).toEqual([]);
  });

  it('stops after close()', async () => {
    const src = createReplaySource({ files: [FIXTURES + 'trades-ms.csv'], batchSize: 1, progress: false });
    const seen: number[] = [];
    for await (const batch of src.batches(new AbortController().signal)) {
      seen.push(batch.length);
      await src.close();
    }
    expect(seen).toEqual([1]);
  });

  it('rejects bad options with CONFIG_INVALID', () => {
    const bad: Array<Partial<ReplayOptionsInput>> = [
      { files: [] },
      { files: [FIXTURES + 'missing.csv'] },
      { files: [FIXTURES + '../replay'] },
      { files: [FIXTURES + 'trades-ms.csv'], speed: -1 },
      { files: [FIXTURES + 'trades-ms.csv'], source: 'has:colon' },
      { files: [FIXTURES + 'trades-ms.csv'], columns: { sym: 'x' } as never },
    ];
    for (const input of bad) {
      let err: unknown;
      try {
        createReplaySource(input as ReplayOptionsInput);
      } catch (e) {
        err = e;
      }
      expect(isTickLakeError(err, 'CONFIG_INVALID'), JSON.stringify(input)).toBe(true);
    }
  });
});
