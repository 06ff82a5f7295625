import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isTickLakeError } from '../../../core/errors.ts';
import { concatColumns, gather, type Columns } from '../../../lake/columns.ts';
import { compactPartition } from '../../../lake/compaction.ts';
import { closeDuckDb, sqlString, withDuckDb } from '../../../lake/duckdb.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../../../lake/manifest.ts';
import { dedupe, sortOrder } from '../../../lake/order.ts';
import { planScan, scanColumns } from '../../../lake/reader.ts';
import { rawTable, toColumns, type TableDef } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { NonAtomicStorage, T0, collect, makeTicks, tempStorage } from './fixtures.ts';

/** Compaction through DuckDB as the rest of the lake sees it: schemas, file format, reader, temp files. */
const P = partitionOf(T0);
const range = (start: number, end: number): SourceRange => ({
  topic: 'ticks.raw',
  partition: 0,
  startOffset: String(start),
  endOffset: String(end),
});
const v2: TableDef = {
  ...rawTable,
  version: 2,
  columns: [...rawTable.columns, { name: 'venue', kind: 'dict', nullable: true, since: 2, field: 'venue' }],
};

/** Rows of the v2 writer: the new column's field set. */
const withVenue = (ticks: object[]) => ticks.map((t) => ({ ...t, venue: 'X' }));

describe('compaction with DuckDB', () => {
  let cleanup = async () => {};
  afterEach(() => cleanup());
  afterAll(() => closeDuckDb());

  async function lake() {
    const t = await tempStorage();
    cleanup = t.cleanup;
    return { ...t, writer: new LakeWriter(t.storage) };
  }

  const sql = <T>(query: string) =>
    withDuckDb(async (con) => (await con.runAndReadAll(query)).getRowObjectsJson() as T[]);

  it('brings files of an older schema version into the current one, missing columns as null', async () => {
    const { storage, writer, dir } = await lake();
    await writer.commit(rawTable, await writer.writeFile(rawTable, makeTicks(300), range(0, 299)));
    await writer.commit(v2, await writer.writeFile(v2, withVenue(makeTicks(300, { seq0: 300 })), range(300, 599)));
    expect(await compactPartition(storage, v2, P)).toMatchObject({ status: 'committed', rowsOut: 600 });
    const rows = concatColumns(await collect(scanColumns(storage, v2)), v2.columns);
    const venueOf = new Map(rows.id!.map((id, i) => [id, rows.venue![i]]));
    expect(venueOf.get('syn:AAPL:0')).toBeNull();
    expect(venueOf.get('syn:AAPL:300')).toBe('X');
    expect([...venueOf.values()].filter((v) => v === null)).toHaveLength(300);
    const [file] = await snapshotFiles(storage, (await loadSnapshot(storage, 'raw'))!);
    expect(file!.schemaVersion).toBe(2);
    const schema = await sql<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${sqlString(join(dir, file!.path))}, hive_partitioning = false)`,
    );
    expect(schema.map((c) => c.column_name)).toEqual(v2.columns.map((c) => c.name));
    expect(schema.at(-1)).toMatchObject({ column_name: 'venue', column_type: 'VARCHAR' });
  });

  it('adds a column that no input has yet, typed and all null', async () => {
    const { storage, writer } = await lake();
    for (let i = 0; i < 2; i++) {
      await writer.commit(
        rawTable,
        await writer.writeFile(rawTable, makeTicks(50, { seq0: i * 50 }), range(i * 50, i * 50 + 49)),
      );
    }
    expect(await compactPartition(storage, v2, P)).toMatchObject({ status: 'committed', rowsOut: 100 });
    const rows = concatColumns(await collect(scanColumns(storage, v2)), v2.columns);
    expect(rows.venue).toEqual(new Array(100).fill(null));
  });

  it('refuses to compact newer files with an older table definition, changing nothing', async () => {
    const { storage, writer } = await lake();
    await writer.commit(rawTable, await writer.writeFile(rawTable, makeTicks(20), range(0, 19)));
    await writer.commit(v2, await writer.writeFile(v2, makeTicks(20, { seq0: 20 }), range(20, 39)));
    const seq = (await loadSnapshot(storage, 'raw'))!.seq;
    const err = await compactPartition(storage, rawTable, P).catch((e: unknown) => e);
    expect(isTickLakeError(err) && err.code).toBe('SCHEMA_INCOMPATIBLE');
    expect(String(err)).toMatch(/venue/);
    expect((await loadSnapshot(storage, 'raw'))!.seq).toBe(seq);
  });

  it('writes files our reader reads back exactly, with the lake file format', async () => {
    const { storage, writer, dir } = await lake();
    const batches = [0, 1, 2].map((i) => makeTicks(3000, { seq0: (i === 2 ? 0 : i) * 3000, spanUs: 3_000_000_000 }));
    for (const [i, ticks] of batches.entries()) {
      await writer.commit(rawTable, await writer.writeFile(rawTable, ticks, range(i * 3000, i * 3000 + 2999)));
    }
    const res = await compactPartition(storage, rawTable, P, { rowGroupRows: 2048 });
    expect(res).toMatchObject({ status: 'committed', rowsIn: 9000, rowsOut: 6000 });

    const all = concatColumns(
      batches.map((t) => toColumns(rawTable, t)),
      rawTable.columns,
    );
    const expected = gather(all, dedupe(rawTable, all, sortOrder(rawTable, all, 9000)));
    expect(concatColumns(await collect(scanColumns(storage, rawTable)), rawTable.columns)).toEqual(expected);

    // Row-group pruning uses the manifest's row groups: they must be the file's.
    const plan = await planScan(storage, 'raw', { symbols: ['AAPL'] });
    expect(plan.pruned.rowGroups).toBeGreaterThan(0);
    const aapl = concatColumns(await collect(scanColumns(storage, rawTable, { symbols: ['AAPL'] })), rawTable.columns);
    const want: Columns = gather(
      expected,
      expected.symbol!.flatMap((s, i) => (s === 'AAPL' ? [i] : [])),
    );
    expect(aapl).toEqual(want);

    const file = sqlString(join(dir, res.outputFiles[0]!));
    const schema = await sql<{ name: string; type: string | null; logical_type: string | null }>(
      `SELECT name, type, logical_type FROM parquet_schema(${file})`,
    );
    const leaf = (name: string) => schema.find((c) => c.name === name)!;
    expect(schema.filter((c) => rawTable.columns.some((d) => d.name === c.name)).map((c) => c.name)).toEqual(
      rawTable.columns.map((c) => c.name),
    );
    expect(leaf('ts')).toMatchObject({ type: 'INT64' });
    expect(String(leaf('ts').logical_type)).toMatch(/isAdjustedToUTC=1.*MICROS=MicroSeconds/);
    expect(leaf('seq').type).toBe('INT64');
    expect(leaf('price').type).toBe('DOUBLE');
    expect(leaf('element').type).toBe('BYTE_ARRAY'); // conditions: LIST<VARCHAR>
    const described = await sql<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${file}, hive_partitioning = false)`,
    );
    expect(described.find((c) => c.column_name === 'recv_ts')!.column_type).toBe('TIMESTAMP WITH TIME ZONE');
    expect(described.find((c) => c.column_name === 'conditions')!.column_type).toBe('VARCHAR[]');
    const chunks = await sql<{ path_in_schema: string; encodings: string; compression: string }>(
      `SELECT path_in_schema, encodings, compression FROM parquet_metadata(${file}) WHERE row_group_id = 0`,
    );
    expect(chunks.find((c) => c.path_in_schema === 'symbol')!.encodings).toMatch(/DICTIONARY/);
    expect(new Set(chunks.map((c) => c.compression))).toEqual(new Set(['ZSTD']));
    const kv = await sql<{ key: string; value: string }>(
      `SELECT key::VARCHAR AS key, value::VARCHAR AS value FROM parquet_kv_metadata(${file})`,
    );
    expect(kv).toEqual(
      expect.arrayContaining([
        { key: 'ticklake.table', value: 'raw' },
        { key: 'ticklake.schema_version', value: '1' },
      ]),
    );
  });

  it.each([
    ['read in place', false],
    ['downloaded', true],
  ])('leaves no temp files behind, also when an input is missing (%s)', async (_name, download) => {
    const { storage: fs, writer, dir } = await lake();
    const storage = download ? new NonAtomicStorage(fs, 0) : fs;
    const work = join(dir, 'work');
    await mkdir(work);
    for (let i = 0; i < 3; i++) {
      await writer.commit(
        rawTable,
        await writer.writeFile(rawTable, makeTicks(40, { seq0: i * 40 }), range(i * 40, i * 40 + 39)),
      );
    }
    const [gone] = await snapshotFiles(fs, (await loadSnapshot(fs, 'raw'))!);
    await fs.delete(gone!.path);
    const err = await compactPartition(storage, rawTable, P, { workDir: work }).catch((e: unknown) => e);
    expect(isTickLakeError(err) && err.code).toBe('MANIFEST_CORRUPT');
    expect(String(err)).toMatch(/missing from storage/);
    expect(await readdir(work)).toEqual([]);

    await writer.commit(rawTable, await writer.writeFile(rawTable, makeTicks(40, { seq0: 999 }), range(120, 159)));
    const seq = (await loadSnapshot(fs, 'raw'))!.seq;
    await fs.put(gone!.path, new Uint8Array(0)); // back, but not a Parquet file
    await expect(compactPartition(storage, rawTable, P, { workDir: work })).rejects.toThrow();
    expect(await readdir(work)).toEqual([]);
    expect((await loadSnapshot(fs, 'raw'))!.seq).toBe(seq);
  });
});
