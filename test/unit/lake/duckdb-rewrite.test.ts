import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { concatColumns, fromRecordBatch, gather, type CellValue, type Columns } from '../../../lake/columns.ts';
import { closeDuckDb, configureDuckDb, duckDbSettings, memoryLimitBytes, withDuckDb } from '../../../lake/duckdb.ts';
import {
  dedupeStrategyFor,
  rewritePartition,
  type DedupeStrategy,
  type RewrittenFile,
} from '../../../lake/duckdb-rewrite.ts';
import { partitionOf } from '../../../lake/layout.ts';
import { dedupe, sortOrder } from '../../../lake/order.ts';
import { decodeParquet, encodeParquet, inspectParquet, rangeStats } from '../../../lake/parquet.ts';
import { rawTable, toColumns, type ColumnDef, type TableDef } from '../../../lake/tables.ts';
import { encodeColumns } from '../../../lake/writer.ts';
import { T0, makeTicks, tempStorage } from './fixtures.ts';

const P = partitionOf(T0);
const src = { topic: 'ticks.raw', partition: 0, startOffset: '0', endOffset: '9' };
const BIG = 1 << 30;

async function readBack(def: TableDef, files: RewrittenFile[]): Promise<Columns> {
  const parts: Columns[] = [];
  for (const f of files) {
    for (const b of decodeParquet(new Uint8Array(await readFile(f.file)))) parts.push(fromRecordBatch(def.columns, b));
  }
  return concatColumns(parts, def.columns);
}

const column = (name: string, kind: ColumnDef<unknown>['kind'], nullable: boolean): ColumnDef<unknown> => ({
  name,
  kind,
  nullable,
  since: 1,
  field: name,
});

/** A table whose sort and keep columns may be null, to pin down null ordering too. */
const events: TableDef = {
  name: 'events',
  version: 1,
  columns: [
    column('id', 'string', false),
    column('symbol', 'dict', true),
    column('ts', 'ts', false),
    column('rev', 'i32', true),
    column('note', 'string', false),
  ],
  timeColumn: 'ts',
  symbolColumn: 'symbol',
  dedupeKey: ['id'],
};

/** Three unsorted files full of duplicates that disagree on symbol, time, revision and payload. */
function conflictingInputs(): Columns[] {
  let x = 12345;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(x / 65536) % n; // the low bits of this generator cycle
  };
  return [0, 1, 2].map((f) => {
    const cols: Record<string, CellValue[]> = { id: [], symbol: [], ts: [], rev: [], note: [] };
    for (let r = 0; r < 300; r++) {
      cols.id!.push(`e${rnd(120)}`);
      cols.symbol!.push(['B', 'A', null, 'C'][rnd(4)]!);
      cols.ts!.push(T0 + rnd(5) * 1_000_000);
      cols.rev!.push([null, 0, 1, 2][rnd(4)]!);
      cols.note!.push(`file ${f} row ${r}`);
    }
    return cols;
  });
}

describe('DuckDB rewrite', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());
  afterAll(() => closeDuckDb());

  async function tempDir(): Promise<string> {
    const t = await tempStorage();
    cleanup = t.cleanup;
    return t.dir;
  }

  async function writeInputs(
    dir: string,
    def: TableDef,
    parts: Columns[],
  ): Promise<{ files: string[]; bytes: number }> {
    const files: string[] = [];
    let bytes = 0;
    for (const [i, cols] of parts.entries()) {
      const body = encodeParquet(def.columns, cols, cols[def.timeColumn]!.length);
      files.push(join(dir, `input-${i}.parquet`));
      bytes += body.length;
      await writeFile(files.at(-1)!, body);
    }
    return { files, bytes };
  }

  const defs: [string, TableDef][] = [
    ['first row in sort order per id', events],
    ['highest revision per id, nulls lowest', { ...events, keepMax: 'rev' }],
    ['first row per (symbol, time)', { ...events, dedupeKey: ['symbol', 'ts'] }],
    ['highest revision per (symbol, time)', { ...events, dedupeKey: ['symbol', 'ts'], keepMax: 'rev' }],
  ];
  const strategies: DedupeStrategy[] = ['aggregate', 'window'];
  it.each(strategies.flatMap((s) => defs.map(([name, def]) => [s, name, def] as const)))(
    'keeps the same rows in the same order as order.ts (%s): %s',
    async (strategy, _name, def) => {
      const dir = await tempDir();
      const parts = conflictingInputs();
      const { files, bytes } = await writeInputs(dir, def, parts);
      const all = concatColumns(parts, def.columns);
      const expected = gather(all, dedupe(def, all, sortOrder(def, all, 900)));
      const out = await rewritePartition(def, files, {
        targetBytes: BIG,
        rowGroupRows: 2048,
        inputRows: 900,
        inputBytes: bytes,
        outDir: dir,
        dedupe: strategy,
      });
      expect(out).toHaveLength(1);
      expect(expected.id!.length).toBeLessThan(900);
      expect(expected.symbol).toContain(null);
      expect(await readBack(def, out)).toEqual(expected);
    },
  );

  const numbered = (count: number) => Array.from({ length: count }, (_, i) => `S${String(i).padStart(3, '0')}`);
  it.each([
    ['4 symbols (listed), 3 row groups', numbered(4), 5000, true],
    ['300 symbols (too many to list), 10 row groups', numbered(300), 20000, true],
    // UTF-8 and UTF-16 order these two differently, so the footer's min/max would not be the writer's (and
    // DuckDB sorts them the other way round: one row group, where the order does not matter).
    ['symbols outside the BMP', ['\uFFFF', '\u{1F600}'], 1000, false],
  ] as [string, string[], number, boolean][])(
    'records the manifest facts our writer records for the same rows: %s',
    async (_name, symbols, n, sameOrder) => {
      const dir = await tempDir();
      const ticks = makeTicks(n, { symbols, spanUs: 3_000_000_000 });
      const cols = toColumns(rawTable, ticks);
      const sorted = gather(cols, sortOrder(rawTable, cols, ticks.length));
      const ours = encodeColumns(rawTable, P, 'raw/x.parquet', sorted, ticks.length, [src], { rowGroupRows: 2048 });
      const input = join(dir, 'input.parquet');
      await writeFile(input, ours.body);
      const out = await rewritePartition(rawTable, [input], {
        targetBytes: BIG,
        rowGroupRows: 2048,
        inputRows: ticks.length,
        inputBytes: ours.body.length,
        outDir: dir,
      });
      expect(out).toHaveLength(1);
      const { rows, stats, symbols: listed, rowGroups } = out[0]!;
      expect({ rows, stats, symbols: listed, rowGroups }).toEqual({
        rows: ours.stats.rows,
        stats: ours.stats,
        symbols: ours.symbols,
        rowGroups: ours.rowGroups,
      });
      expect(rowGroups.map((g) => g.rows)).toEqual([...new Array<number>(Math.floor(n / 2048)).fill(2048), n % 2048]);
      expect(listed === null).toBe(symbols.length > 256);
      const back = await readBack(rawTable, out);
      expect(gather(back, sortOrder(rawTable, back, n))).toEqual(sorted);
      if (sameOrder) expect(back).toEqual(sorted);
    },
  );

  it('describes the row groups DuckDB really wrote when it rounds their size up to 2048 rows', async () => {
    const dir = await tempDir();
    const ticks = makeTicks(5000, { spanUs: 3_000_000_000 });
    const cols = toColumns(rawTable, ticks);
    const { files, bytes } = await writeInputs(dir, rawTable, [cols]);
    const [file] = await rewritePartition(rawTable, files, {
      targetBytes: BIG,
      rowGroupRows: 1000,
      inputRows: 5000,
      inputBytes: bytes,
      outDir: dir,
    });
    const info = await inspectParquet(new Uint8Array(await readFile(file!.file)));
    expect(file!.rowGroups.map((g) => g.rows)).toEqual(info.rowGroups.map((g) => g.rows));
    expect(info.rowGroups.map((g) => g.rows)).toEqual([2048, 2048, 904]);
    const back = await readBack(rawTable, [file!]);
    expect(file!.rowGroups[1]).toEqual(rangeStats(back, 'ts', 'symbol', 2048, 4096));
  });

  it('splits a single output that came out over the target into files under it, keeping the order', async () => {
    const dir = await tempDir();
    const ticks = makeTicks(6000, { spanUs: 3_000_000_000 });
    const { files } = await writeInputs(dir, rawTable, [toColumns(rawTable, ticks)]);
    // An input that claims to be tiny makes the first guess one file; it comes out ~3x over the target.
    const probe = join(dir, 'probe');
    await mkdir(probe);
    const whole = await rewritePartition(rawTable, files, {
      targetBytes: BIG,
      rowGroupRows: 2048,
      inputRows: 6000,
      inputBytes: 6000,
      outDir: probe,
    });
    const target = Math.floor(whole[0]!.bytes / 3);
    const out = await rewritePartition(rawTable, files, {
      targetBytes: target,
      rowGroupRows: 2048,
      inputRows: 6000,
      inputBytes: 6000,
      outDir: dir,
    });
    expect(out.length).toBeGreaterThanOrEqual(3);
    for (const f of out) expect(f.bytes).toBeLessThanOrEqual(target);
    expect(out.reduce((n, f) => n + f.rows, 0)).toBe(6000);
    const back = await readBack(rawTable, out);
    const cols = toColumns(rawTable, ticks);
    expect(back).toEqual(gather(cols, sortOrder(rawTable, cols, 6000)));
  });

  it('refuses inputs with a column the table definition does not know, or of another type', async () => {
    const dir = await tempDir();
    const v2: TableDef = { ...rawTable, version: 2, columns: [...rawTable.columns, column('venue', 'dict', true)] };
    const cols = toColumns(v2, makeTicks(10));
    cols.venue = new Array<CellValue>(10).fill('X');
    const { files, bytes } = await writeInputs(dir, v2, [cols]);
    const opts = { targetBytes: BIG, rowGroupRows: 2048, inputRows: 10, inputBytes: bytes, outDir: dir };
    await expect(rewritePartition(rawTable, files, opts)).rejects.toThrow(/column venue that schema version 1/);
    const retyped: TableDef = { ...v2, columns: [...rawTable.columns, column('venue', 'f64', true)] };
    await expect(rewritePartition(retyped, files, opts)).rejects.toThrow(/venue is VARCHAR .* expected DOUBLE/);
  });

  it('runs on one lazily opened instance with bounded, configurable settings', async () => {
    await expect(configureDuckDb({ threads: 0 })).rejects.toThrow(/threads/);
    await expect(configureDuckDb({ memoryLimit: 'lots' })).rejects.toThrow(/memory limit/);
    expect(duckDbSettings().threads).toBeLessThanOrEqual(2);
    await configureDuckDb({ threads: 1, memoryLimit: '512MB' });
    const read = () =>
      withDuckDb(
        async (con) =>
          (
            await con.runAndReadAll(
              `SELECT current_setting('threads')::INT, current_setting('memory_limit'), current_setting('autoinstall_known_extensions')`,
            )
          ).getRows()[0],
      );
    expect(await read()).toEqual([1, '488.2 MiB', false]);
    expect(memoryLimitBytes()).toBe(512e6);
    // Small inputs dedupe with the in-memory aggregate, large ones with the window that spills.
    expect(dedupeStrategyFor(1_000_000, memoryLimitBytes())).toBe('aggregate');
    expect(dedupeStrategyFor(2_000_000, memoryLimitBytes())).toBe('window');
    await closeDuckDb();
    await configureDuckDb({ threads: 2, memoryLimit: '1GB' });
    expect((await read())![0]).toBe(2);
  });
});
