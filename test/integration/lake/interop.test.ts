import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bar } from '../../../core/schemas/bar.ts';
import { bigqueryClient } from '../../../infra/clients.ts';
import { compactPartition } from '../../../lake/compaction.ts';
import { DuckDb } from '../../../lake/duckdb.ts';
import { partitionOf } from '../../../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../../../lake/manifest.ts';
import { FsStorage } from '../../../lake/storage/fs.ts';
import { alertsTable, barsTable, enrichedTable, rawTable, type TableDef } from '../../../lake/tables.ts';
import { encode, LakeWriter } from '../../../lake/writer.ts';
import { bigquerySchemaOf } from '../../../warehouse/schema.ts';
import { uniqueName } from '../../support/ids.ts';
import { ensurePyarrow, runPythonJson } from '../../support/pyarrow.ts';
import { testStackConfig } from '../../support/stack.ts';
import { T0 } from '../../unit/lake/fixtures.ts';
import {
  type Writer,
  type LakeFile,
  type ColumnSummary,
  type Summary,
  rawInputs,
  enriched,
  barInputs,
  alerts,
  deduped,
  expectedSummary,
  expectSameSummary,
} from './interop/rows.ts';
import { readWithPyarrow, expectPyarrowReads, DUCKDB_TYPES, summarySql } from './interop/engines.ts';

/**
 * Lake files as other engines see them: files of all four tables from the sink path (lake/writer.ts encode,
 * parquet-wasm) and compacted raw and bars files (compactPartition, DuckDB), read with pyarrow 26, with DuckDB,
 * and (compacted raw) loaded into the BigQuery emulator. Every expectation is derived from the rows written.
 * Needs no Kafka; it is an integration test because it builds a Python venv and talks to the emulator.
 */
// ---- the files -------------------------------------------------------------------------------------------

const duckdb = new DuckDb({ threads: 1 });
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
  const res = await compactPartition({ storage, duckdb }, def as TableDef, partition, {
    rowGroupRows: 2048,
    workDir: dir,
  });
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
  await duckdb.close();
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
