import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertId, type Alert } from '../../../core/schemas/alert.ts';
import { BAR_INTERVAL_US, type Bar } from '../../../core/schemas/bar.ts';
import type { EnrichedTick } from '../../../core/schemas/enriched.ts';
import type { Tick } from '../../../core/schemas/tick.ts';
import { bigqueryClient } from '../../../infra/clients.ts';
import { compactPartition } from '../../../lake/compaction.ts';
import { closeDuckDb } from '../../../lake/duckdb.ts';
import { partitionOf } from '../../../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../../../lake/manifest.ts';
import type { RangeStats } from '../../../lake/parquet.ts';
import { FsStorage } from '../../../lake/storage/fs.ts';
import { alertsTable, barsTable, enrichedTable, rawTable, toColumns, type TableDef } from '../../../lake/tables.ts';
import { encode, LakeWriter } from '../../../lake/writer.ts';
import { bigquerySchemaOf } from '../../../warehouse/schema.ts';
import { uniqueName } from '../../support/ids.ts';
import { ensurePyarrow, runPythonJson } from '../../support/pyarrow.ts';
import { testStackConfig } from '../../support/stack.ts';
import { T0, makeTicks } from '../../unit/lake/fixtures.ts';

/**
 * Lake files as other engines see them: files of all four tables from the sink path (lake/writer.ts encode,
 * parquet-wasm) and compacted raw and bars files (compactPartition, DuckDB), read with pyarrow 26, with DuckDB,
 * and (compacted raw) loaded into the BigQuery emulator. Every expectation is derived from the rows written.
 * Needs no Kafka; it is an integration test because it builds a Python venv and talks to the emulator.
 */
type Writer = 'sink' | 'compacted';
interface LakeFile {
  label: string;
  writer: Writer;
  def: TableDef;
  path: string;
  /** The rows the file must hold (for compaction: one per key, bars at their highest revision). */
  rows: readonly unknown[];
  /** What the manifest records per row group: footer statistics must agree, or pruning would skip rows. */
  rowGroups: RangeStats[];
}

interface ColumnSummary {
  nonNull: number;
  min?: string | number | null;
  max?: string | number | null;
  sum?: string | number;
  distinct?: number;
  elements?: number;
}
interface Summary {
  rows: number;
  keys: number;
  symbols: string[];
  columns: Record<string, ColumnSummary>;
}

// ---- rows: every table, all in T0's event hour ----------------------------------------------------------

const ticks = makeTicks(5200, { spanUs: 50 * 60_000_000 });
// Compaction inputs overlap by 200 ticks, and the last is a replay of the first 500: 6500 rows, 5200 ids.
const rawInputs: Tick[][] = [
  ...[0, 1, 2, 3, 4].map((i) => ticks.slice(i * 1000, i * 1000 + 1200)),
  ticks.slice(0, 500),
];

const enriched: EnrichedTick[] = ticks.slice(0, 2000).map((t, i) => {
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

const BAR_SYMBOLS = Array.from({ length: 80 }, (_, i) => `S${String(i).padStart(2, '0')}`);
function bar(s: number, minute: number, revision: number): Bar {
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
const bars = (symbols: number[], minutes: number[], revision: number) =>
  symbols.flatMap((s) => minutes.map((m) => bar(s, m, revision)));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const allSymbols = range(0, BAR_SYMBOLS.length);
const evenSymbols = allSymbols.filter((s) => s % 2 === 0);
// Revision 0 of 55 minutes in two overlapping files, revision 1 for some, revision 2 for fewer, and a late
// replay of revision 0 after revision 1: compaction must keep the highest revision, not the last seen.
const barInputs: Bar[][] = [
  bars(allSymbols, range(0, 30), 0),
  bars(allSymbols, range(25, 30), 0),
  bars(evenSymbols, range(10, 10), 1),
  [...bars(allSymbols, range(15, 3), 2), ...bars(allSymbols, range(10, 3), 0)],
];

const RULES = ['zscore', 'spread_blowout', 'volume_spike'] as const;
const SEVERITIES = ['info', 'warning', 'critical'] as const;
const alerts: Alert[] = range(0, 300).map((i) => {
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
function deduped<Row>(def: TableDef<Row>, rows: readonly Row[]): Row[] {
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

function expectedSummary(def: TableDef, rows: readonly unknown[]): Summary {
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
function expectSameSummary(got: Summary, want: Summary, label: string): void {
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
const ARROW_TYPES: Record<string, string> = {
  ts: 'timestamp[us, tz=UTC]',
  f64: 'double',
  i64: 'int64',
  i32: 'int32',
  string: 'string',
  dict: 'string',
  strlist: 'list<element: string>',
};

// ---- pyarrow ---------------------------------------------------------------------------------------------

interface PyRowGroup {
  rows: number;
  codecs: string[];
  tsStats: [string, string] | null;
  tsData: [string, string];
  symbolStats: [string, string] | null;
  symbolData: [string, string];
  symbolEncodings: string[];
  symbolDictionaryPage: boolean;
}
interface PyReport {
  summary: Summary;
  schema: [name: string, type: string, nullable: boolean][];
  parquetTypes: Record<string, [physical: string, logical: string]>;
  kv: Record<string, string>;
  rowGroups: PyRowGroup[];
}

const PYARROW_REPORT = String.raw`
import json, math, sys
import pyarrow as pa, pyarrow.parquet as pq

def summarize(table, spec):
    cols = {}
    for name, kind in spec['columns']:
        col = table.column(name)
        if kind in ('ts', 'i64', 'i32'):
            v = [x for x in col.cast(pa.int64()).to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'min': str(min(v)) if v else None, 'max': str(max(v)) if v else None, 'sum': str(sum(v))}
        elif kind == 'f64':
            v = [x for x in col.to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'min': min(v) if v else None, 'max': max(v) if v else None, 'sum': math.fsum(v)}
        elif kind == 'strlist':
            v = [x for x in col.to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'elements': sum(len(x) for x in v)}
        else:
            v = [x for x in col.to_pylist() if x is not None]
            cols[name] = {'nonNull': len(v), 'distinct': len(set(v)), 'min': min(v) if v else None, 'max': max(v) if v else None}
    keys = set(zip(*[table.column(k).to_pylist() for k in spec['key']]))
    symbols = sorted(set(table.column(spec['symbol']).to_pylist()))
    return {'rows': table.num_rows, 'keys': len(keys), 'symbols': symbols, 'columns': cols}

def report(spec):
    pf = pq.ParquetFile(spec['path'])
    md = pf.metadata
    index = {md.schema.column(i).path: i for i in range(md.num_columns)}
    parquet_types = {}
    for i in range(md.num_columns):
        c = md.schema.column(i)
        parquet_types[c.path] = [c.physical_type, str(c.logical_type)]
    groups = []
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        def stats(name, raw):
            st = rg.column(index[name]).statistics
            if st is None or not st.has_min_max:
                return None
            return [str(st.min_raw), str(st.max_raw)] if raw else [st.min, st.max]
        data = pf.read_row_group(g, columns=[spec['time'], spec['symbol']])
        t = data.column(0).cast(pa.int64()).to_pylist()
        s = data.column(1).to_pylist()
        sym = rg.column(index[spec['symbol']])
        groups.append({
            'rows': rg.num_rows,
            'codecs': sorted({rg.column(j).compression for j in range(rg.num_columns)}),
            'tsStats': stats(spec['time'], True),
            'tsData': [str(min(t)), str(max(t))],
            'symbolStats': stats(spec['symbol'], False),
            'symbolData': [min(s), max(s)],
            'symbolEncodings': sorted(sym.encodings),
            'symbolDictionaryPage': sym.has_dictionary_page,
        })
    kv = {k.decode(): v.decode() for k, v in (md.metadata or {}).items() if not k.startswith(b'ARROW:')}
    return {
        'summary': summarize(pf.read(), spec),
        'schema': [[f.name, str(f.type), f.nullable] for f in pf.schema_arrow],
        'parquetTypes': parquet_types,
        'kv': kv,
        'rowGroups': groups,
    }

print(json.dumps([report(spec) for spec in json.loads(sys.argv[1])]))
`;

function readWithPyarrow(python: string, files: readonly LakeFile[]): Promise<PyReport[]> {
  const specs = files.map((f) => ({
    path: f.path,
    columns: f.def.columns.map((c) => [c.name, c.kind]),
    key: f.def.dedupeKey,
    time: f.def.timeColumn,
    symbol: f.def.symbolColumn,
  }));
  return runPythonJson<PyReport[]>(python, PYARROW_REPORT, [JSON.stringify(specs)]);
}

function expectPyarrowReads(f: LakeFile, got: PyReport): void {
  const { def, label } = f;
  expect(got.kv, label).toEqual({ 'ticklake.table': def.name, 'ticklake.schema_version': String(def.version) });
  expect(
    got.schema.map(([name, type]) => [name, type]),
    label,
  ).toEqual(def.columns.map((c) => [c.name, ARROW_TYPES[c.kind]]));
  // Every column is OPTIONAL in every file: DuckDB can write nothing else, and the sink's writer matches it.
  expect(
    got.schema.map(([, , n]) => n),
    label,
  ).toEqual(def.columns.map(() => true));
  for (const c of def.columns.filter((c) => c.kind !== 'strlist')) {
    const [physical, logical] = got.parquetTypes[c.name]!;
    if (c.kind === 'ts') {
      expect(physical, `${label} ${c.name}`).toBe('INT64');
      expect(logical, `${label} ${c.name}`).toMatch(/^Timestamp\(isAdjustedToUTC=true, timeUnit=microseconds/);
    }
    if (c.kind === 'f64') expect(physical, `${label} ${c.name}`).toBe('DOUBLE');
    if (c.kind === 'dict') expect([physical, logical], `${label} ${c.name}`).toEqual(['BYTE_ARRAY', 'String']);
  }
  expect(
    got.rowGroups.map((g) => ({
      rows: g.rows,
      minTs: Number(g.tsData[0]),
      maxTs: Number(g.tsData[1]),
      minSymbol: g.symbolData[0],
      maxSymbol: g.symbolData[1],
    })),
    `${label}: row groups as the manifest records them`,
  ).toEqual(f.rowGroups);
  for (const g of got.rowGroups) {
    expect(g.codecs, label).toEqual(['ZSTD']);
    expect(g.tsStats, `${label}: ts statistics`).toEqual(g.tsData);
    expect(g.symbolStats, `${label}: symbol statistics`).toEqual(g.symbolData);
    expect(g.symbolDictionaryPage, `${label}: symbol dictionary page`).toBe(true);
    expect(
      g.symbolEncodings.some((e) => /DICTIONARY/.test(e)),
      `${label}: ${g.symbolEncodings.join(',')}`,
    ).toBe(true);
  }
  expectSameSummary(got.summary, expectedSummary(def, f.rows), label);
}

// ---- DuckDB ----------------------------------------------------------------------------------------------

const DUCKDB_TYPES: Record<string, string> = {
  ts: 'TIMESTAMP WITH TIME ZONE',
  f64: 'DOUBLE',
  i64: 'BIGINT',
  i32: 'INTEGER',
  string: 'VARCHAR',
  dict: 'VARCHAR',
  strlist: 'VARCHAR[]',
};

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

function summarySql(def: TableDef, src: string): string {
  const parts = def.columns.flatMap((c, i) => {
    const col = q(c.name);
    const nonNull = `count(${col})::INTEGER AS "${i}.nonNull"`;
    const int = c.kind === 'ts' ? `epoch_us(${col})` : col;
    switch (c.kind) {
      case 'ts':
      case 'i64':
      case 'i32':
        return [
          nonNull,
          `min(${int})::VARCHAR AS "${i}.min"`,
          `max(${int})::VARCHAR AS "${i}.max"`,
          `coalesce(sum(${int}), 0)::VARCHAR AS "${i}.sum"`,
        ];
      case 'f64':
        return [
          nonNull,
          `min(${col}) AS "${i}.min"`,
          `max(${col}) AS "${i}.max"`,
          `coalesce(sum(${col}), 0)::DOUBLE AS "${i}.sum"`,
        ];
      case 'strlist':
        return [nonNull, `coalesce(sum(len(${col})), 0)::INTEGER AS "${i}.elements"`];
      default:
        return [
          nonNull,
          `count(DISTINCT ${col})::INTEGER AS "${i}.distinct"`,
          `min(${col}) AS "${i}.min"`,
          `max(${col}) AS "${i}.max"`,
        ];
    }
  });
  const keys = def.dedupeKey.map(q).join(', ');
  return `SELECT count(*)::INTEGER AS rows,
      (SELECT count(*)::INTEGER FROM (SELECT DISTINCT ${keys} FROM ${src})) AS keys,
      (SELECT list(s ORDER BY s) FROM (SELECT DISTINCT ${q(def.symbolColumn)} AS s FROM ${src})) AS symbols,
      ${parts.join(',\n      ')}
    FROM ${src}`;
}

// ---- the files -------------------------------------------------------------------------------------------

const files: LakeFile[] = [];
let python = '';
let dir = '';

async function sinkFile<Row>(def: TableDef<Row>, rows: readonly Row[], rowGroupRows: number): Promise<LakeFile> {
  const encoded = encode(
    def,
    rows,
    { topic: `t.${def.name}`, partition: 0, startOffset: '0', endOffset: '99999' },
    { rowGroupRows },
  );
  expect(encoded).toHaveLength(1);
  const path = join(dir, `${def.name}-sink.parquet`);
  await writeFile(path, encoded[0]!.body);
  return {
    label: `${def.name} (sink)`,
    writer: 'sink',
    def: def as TableDef,
    path,
    rows,
    rowGroups: encoded[0]!.rowGroups,
  };
}

/** Commits each input as a small sink file of an FsStorage lake, then compacts the partition into one file. */
async function compactedFile<Row>(def: TableDef<Row>, inputs: readonly Row[][]): Promise<LakeFile> {
  const storage = new FsStorage(join(dir, `lake-${def.name}`));
  const lake = new LakeWriter(storage);
  let offset = 0;
  for (const rows of inputs) {
    const source = {
      topic: `t.${def.name}`,
      partition: 0,
      startOffset: String(offset),
      endOffset: String(offset + rows.length - 1),
    };
    offset += rows.length;
    await lake.commit(def, await lake.writeFile(def, rows, source));
  }
  const partition = partitionOf(T0);
  const res = await compactPartition(storage, def as TableDef, partition, { rowGroupRows: 2048, workDir: dir });
  expect(res).toMatchObject({ status: 'committed', rowsIn: inputs.flat().length });
  expect(res.outputFiles).toHaveLength(1);
  const entry = (await snapshotFiles(storage, (await loadSnapshot(storage, def.name))!)).find(
    (e) => e.path === res.outputFiles[0],
  )!;
  return {
    label: `${def.name} (compacted)`,
    writer: 'compacted',
    def: def as TableDef,
    path: storage.localPath(entry.path),
    rows: deduped(def, inputs.flat()),
    rowGroups: entry.rowGroups,
  };
}

beforeAll(async () => {
  // A cold venv is a pip download of pyarrow: far longer than a test, so it gets its own timeout.
  python = await ensurePyarrow();
  dir = await mkdtemp(join(tmpdir(), 'ticklake-interop-'));
  files.push(
    await sinkFile(rawTable, rawInputs.flat(), 1000),
    await sinkFile(enrichedTable, enriched, 700),
    await sinkFile(barsTable, barInputs.flat(), 1000),
    await sinkFile(alertsTable, alerts, 128),
    await compactedFile(rawTable, rawInputs),
    await compactedFile(barsTable, barInputs),
  );
}, 900_000);

afterAll(async () => {
  await closeDuckDb();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const byWriter = (w: Writer) => files.filter((f) => f.writer === w);

describe('lake Parquet files in other engines', () => {
  it('the fixture covers what compaction must get right: duplicates and bar revisions', () => {
    const raw = byWriter('compacted').find((f) => f.def.name === 'raw')!;
    const barsOut = byWriter('compacted').find((f) => f.def.name === 'bars')!;
    expect([raw.rows.length, rawInputs.flat().length]).toEqual([5200, 6500]);
    const revisions = (barsOut.rows as Bar[]).map((b) => b.revision);
    expect(new Set(revisions)).toEqual(new Set([0, 1, 2]));
    for (const f of files) expect(f.rowGroups.length, f.label).toBeGreaterThan(1);
  });

  it('pyarrow 26 reads the sink files of all four tables', async () => {
    const sink = byWriter('sink');
    expect(sink.map((f) => f.def.name)).toEqual(['raw', 'enriched', 'bars', 'alerts']);
    const reports = await readWithPyarrow(python, sink);
    sink.forEach((f, i) => expectPyarrowReads(f, reports[i]!));
  });

  it('pyarrow 26 reads the compacted (DuckDB-written) raw and bars files', async () => {
    const compacted = byWriter('compacted');
    const reports = await readWithPyarrow(python, compacted);
    compacted.forEach((f, i) => expectPyarrowReads(f, reports[i]!));
  });

  it('pyarrow reads a sink file and a compacted file of one table as one dataset with one schema', async () => {
    for (const table of ['raw', 'bars']) {
      const both = files.filter((f) => f.def.name === table);
      expect(both.map((f) => f.writer)).toEqual(['sink', 'compacted']);
      const got = await runPythonJson<{ schemas: string[]; rows: number }>(
        python,
        `
import json, sys
import pyarrow.dataset as ds
import pyarrow.parquet as pq
paths = sys.argv[1:]
schemas = [pq.read_schema(p).remove_metadata().to_string() for p in paths]
# A dataset takes the first file's schema and fails on a file that does not fit it.
rows = ds.dataset(paths, format='parquet').to_table().num_rows
print(json.dumps({'schemas': schemas, 'rows': rows}))
`,
        both.map((f) => f.path),
      );
      expect(got.schemas[1], table).toBe(got.schemas[0]);
      expect(got.rows, table).toBe(both[0]!.rows.length + both[1]!.rows.length);
    }
  });

  it('DuckDB reads every file with TIMESTAMPTZ event times and the same values', async () => {
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    const con = await db.connect();
    try {
      for (const f of files) {
        // The compacted file sits under dt=/hour= folders: read it as a file, not as a hive partition.
        const src = `read_parquet('${f.path.replaceAll("'", "''")}', hive_partitioning = false)`;
        const types = (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjectsJS();
        expect(
          types.map((r) => [r.column_name, r.column_type]),
          f.label,
        ).toEqual(f.def.columns.map((c) => [c.name, DUCKDB_TYPES[c.kind]]));
        const row = (await con.runAndReadAll(summarySql(f.def, src))).getRowObjectsJson()[0]!;
        // Result columns are named "<column index>.<field>": regroup them per table column.
        const columns: Record<string, ColumnSummary> = {};
        f.def.columns.forEach((c, i) => {
          const prefix = `${i}.`;
          const entries = Object.entries(row).filter(([k]) => k.startsWith(prefix));
          columns[c.name] = Object.fromEntries(entries.map(([k, v]) => [k.slice(prefix.length), v])) as never;
        });
        const got: Summary = {
          rows: Number(row.rows),
          keys: Number(row.keys),
          symbols: row.symbols as string[],
          columns,
        };
        expectSameSummary(got, expectedSummary(f.def, f.rows), f.label);
      }
    } finally {
      con.closeSync();
      db.closeSync();
    }
  });

  it('the BigQuery emulator loads the compacted raw file and agrees on count, sums and times', async () => {
    const config = testStackConfig();
    const bq = bigqueryClient(config);
    const datasetId = uniqueName('lake_interop').replace(/-/g, '_');
    const raw = byWriter('compacted').find((f) => f.def.name === 'raw')!;
    const [dataset] = await bq.createDataset(datasetId, { location: config.bigquery.location });
    try {
      const schema = bigquerySchemaOf(rawTable as TableDef<unknown>);
      const [table] = await dataset.createTable('raw_compacted', { schema });
      const [job] = await table.load(raw.path, { sourceFormat: 'PARQUET', schema });
      expect(job.status?.errorResult).toBeUndefined();
      const [rows] = await bq.query({
        query: `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids, COUNT(DISTINCT symbol) AS symbols,
                  COUNT(price) AS trades, SUM(price) AS price_sum, SUM(bid_size) AS bid_size_sum,
                  UNIX_MICROS(MIN(ts)) AS min_ts, UNIX_MICROS(MAX(ts)) AS max_ts,
                  SUM(ARRAY_LENGTH(conditions)) AS conditions
                FROM \`${config.bigquery.projectId}.${datasetId}.raw_compacted\``,
      });
      const want = expectedSummary(rawTable as TableDef, raw.rows);
      const r = rows[0] as Record<string, number>;
      expect([r.n, r.ids, r.symbols, r.trades, r.min_ts, r.max_ts, r.conditions].map(Number)).toEqual([
        want.rows,
        want.keys,
        want.symbols.length,
        want.columns.price!.nonNull,
        Number(want.columns.ts!.min),
        Number(want.columns.ts!.max),
        want.columns.conditions!.elements,
      ]);
      const close = (got: number, sum: number) => Math.abs(got - sum) <= 1e-12 * Math.abs(sum);
      expect(close(Number(r.price_sum), want.columns.price!.sum as number), `price sum ${r.price_sum}`).toBe(true);
      expect(close(Number(r.bid_size_sum), want.columns.bid_size!.sum as number), `bid_size ${r.bid_size_sum}`).toBe(
        true,
      );
    } finally {
      await dataset.delete({ force: true }).catch(() => undefined);
    }
  });
});
