import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactPartition } from '../lake/compaction.ts';
import { partitionOf } from '../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../lake/manifest.ts';
import { FsStorage } from '../lake/storage/fs.ts';
import { rawTable } from '../lake/tables.ts';
import { LakeWriter } from '../lake/writer.ts';
import { T0_US, machine, median, syntheticTicks, timeIt } from './lake-bench-util.ts';

/**
 * Compaction of one partition (read small files, dedupe by id, sort by symbol+ts, write, manifest swap)
 * next to DuckDB doing the same read/dedupe/sort/write over the same files, in the same run.
 * `node --import tsx bench/lake-compaction.bench.ts [rows] [files] [runs]`
 */
const N = Number(process.argv[2] ?? 200_000);
const FILES = Number(process.argv[3] ?? 20);
const RUNS = Number(process.argv[4] ?? 5);
const per = Math.floor(N / FILES);

async function seed(dir: string): Promise<{ storage: FsStorage; files: string[] }> {
  const storage = new FsStorage(dir);
  const lake = new LakeWriter(storage);
  for (let i = 0; i < FILES; i++) {
    // Every fifth file replays the previous one's events: ~20% duplicates for the dedupe to remove.
    const ticks = syntheticTicks(per, (i % 5 === 4 ? i - 1 : i) * per);
    const range = {
      topic: 'ticks.raw',
      partition: 0,
      startOffset: String(i * per),
      endOffset: String(i * per + per - 1),
    };
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range));
  }
  const files = (await snapshotFiles(storage, (await loadSnapshot(storage, 'raw'))!)).map((f) => join(dir, f.path));
  return { storage, files };
}

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const ours: number[] = [];
const duck: number[] = [];
let oursOut = { rows: 0, bytes: 0 };
let duckOut = { rows: 0, bytes: 0 };

for (let run = 0; run <= RUNS; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'lake-compact-bench-'));
  const { storage, files } = await seed(dir);
  const partition = partitionOf(T0_US);
  let result: Awaited<ReturnType<typeof compactPartition>> | undefined;
  const msOurs = await timeIt(async () => {
    result = await compactPartition(storage, rawTable, partition, { minFiles: 2 });
  });
  const out = join(dir, 'duck.parquet');
  const list = files.map((f) => `'${f}'`).join(', ');
  const msDuck = await timeIt(() =>
    con
      .run(
        `copy (select * from read_parquet([${list}]) qualify row_number() over (partition by id order by seq) = 1
           order by symbol, ts) to '${out}' (format parquet, compression zstd)`,
      )
      .then(() => undefined),
  );
  if (run > 0) {
    ours.push(msOurs);
    duck.push(msDuck);
    const snap = (await loadSnapshot(storage, 'raw'))!;
    oursOut = { rows: result!.rowsOut, bytes: snap.partitions[0]!.bytes };
    const n = (await con.runAndReadAll(`select count(*)::int as n from '${out}'`)).getRowObjectsJson()[0]!.n;
    duckOut = { rows: Number(n), bytes: statSync(out).size };
  }
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `lake-compaction bench: ${FILES} files x ${per} rows in one hour partition (~20% duplicates), median of ${RUNS} runs after 1 warm-up`,
);
console.log(machine());
const mo = median(ours);
const md = median(duck);
const line = (name: string, ms: number, o: { rows: number; bytes: number }) =>
  console.log(
    `${name.padEnd(54)} ${ms.toFixed(0).padStart(6)} ms  ${Math.round((FILES * per * 1000) / ms)
      .toLocaleString('en-US')
      .padStart(10)} input rows/s  -> ${o.rows} rows, ${(o.bytes / 1024).toFixed(0)} KiB`,
  );
line('ticklake compactPartition (incl. manifest commit)', mo, oursOut);
line('duckdb read_parquet + dedupe + order by + COPY', md, duckOut);
console.log(`ticklake / duckdb time ratio: ${(mo / md).toFixed(2)}`);
con.closeSync();
