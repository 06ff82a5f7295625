import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactPartition, type CompactionResult, type CompactionTimings } from '../lake/compaction.ts';
import { DuckDb, sqlString } from '../lake/duckdb.ts';
import { partitionOf } from '../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../lake/manifest.ts';
import { FsStorage } from '../lake/storage/fs.ts';
import { S3Storage } from '../lake/storage/s3.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { rawTable } from '../lake/tables.ts';
import { LakeWriter } from '../lake/writer.ts';
import { testStackConfig } from '../test/support/stack.ts';
import { T0_US, machine, median, syntheticTicks, timeIt } from './lake-bench-util.ts';

/**
 * Compaction of one partition end to end (snapshot, inputs from storage, DuckDB dedupe + sort + write, facts
 * read back, upload, manifest commit) next to bare DuckDB doing read_parquet + dedupe + sort + COPY over the
 * same files, on the same DuckDB instance, in the same run.
 *
 * `node --import tsx bench/lake-compaction.bench.ts [rows] [files] [runs] [--s3] [--copy]`
 *   --s3    inputs and outputs on the test stack's S3 (versitygw; start it with `npm run test:stack`)
 *   --copy  FsStorage without in-place reads: inputs are fetched with get() like any remote store
 */
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const [N, FILES, RUNS] = [200_000, 20, 5].map((d, i) => Number(args.filter((a) => !a.startsWith('--'))[i] ?? d)) as [
  number,
  number,
  number,
];
const per = Math.floor(N / FILES);
const duckdb = new DuckDb();
const mode = flags.has('--s3') ? 's3' : flags.has('--copy') ? 'fs, inputs fetched with get()' : 'fs, read in place';

/** FsStorage without its local paths, so compaction fetches inputs the way it does from S3. */
function copying(fs: FsStorage): Storage {
  return {
    description: fs.description,
    atomicPutIfAbsent: fs.atomicPutIfAbsent,
    get: (k) => fs.get(k),
    getRange: (k, s, e) => fs.getRange(k, s, e),
    put: (k, b) => fs.put(k, b),
    putIfAbsent: (k, b) => fs.putIfAbsent(k, b),
    head: (k) => fs.head(k),
    list: (p, o) => fs.list(p, o),
    delete: (k) => fs.delete(k),
  };
}

function storageFor(dir: string): { storage: Storage; cleanup: () => Promise<void> } {
  if (!flags.has('--s3')) {
    const fs = new FsStorage(dir);
    return { storage: flags.has('--copy') ? copying(fs) : fs, cleanup: async () => {} };
  }
  const s3 = new S3Storage(testStackConfig().s3, { prefix: `bench-compact-${randomBytes(4).toString('hex')}/` });
  return {
    storage: s3,
    cleanup: async () => {
      for (const o of await s3.list('')) await s3.delete(o.key);
      s3.client.destroy();
    },
  };
}

/** Writes the inputs through the sink's path; returns local copies of them for the DuckDB baseline. */
async function seed(storage: Storage, dir: string): Promise<string[]> {
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
  const files = await snapshotFiles(storage, (await loadSnapshot(storage, 'raw'))!);
  return Promise.all(
    files.map(async (f, i) => {
      const local = join(dir, `baseline-${i}.parquet`);
      writeFileSync(local, (await storage.get(f.path))!);
      return local;
    }),
  );
}

const ours: number[] = [];
const duck: number[] = [];
const phases: CompactionTimings[] = [];
let oursOut = { rows: 0, bytes: 0 };
let duckOut = { rows: 0, bytes: 0 };

for (let run = 0; run <= RUNS; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'lake-compact-bench-'));
  const { storage, cleanup } = storageFor(dir);
  try {
    const files = await seed(storage, dir);
    let result: CompactionResult | undefined;
    const compact = () =>
      timeIt(async () => {
        result = await compactPartition({ storage, duckdb }, rawTable, partitionOf(T0_US), { minFiles: 2 });
      });
    const out = join(dir, 'duck.parquet');
    const list = files.map(sqlString).join(', ');
    const baseline = () =>
      timeIt(() =>
        duckdb
          .run((con) =>
            con.run(
              `COPY (SELECT * FROM read_parquet([${list}], hive_partitioning = false)
               QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq) = 1
               ORDER BY symbol, ts) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
            ),
          )
          .then(() => undefined),
      );
    // Let the seeding's garbage collection finish, and alternate which goes first: on 2 shared cores either
    // would otherwise pay for the other's leftovers.
    await new Promise((r) => setTimeout(r, 300));
    let msOurs: number;
    let msDuck: number;
    if (run % 2) {
      msDuck = await baseline();
      msOurs = await compact();
    } else {
      msOurs = await compact();
      msDuck = await baseline();
    }
    if (result?.status !== 'committed') throw new Error(`compaction did not commit: ${JSON.stringify(result)}`);
    if (run > 0) {
      ours.push(msOurs);
      duck.push(msDuck);
      phases.push(result.timings!);
      const snap = (await loadSnapshot(storage, 'raw'))!;
      oursOut = { rows: result.rowsOut, bytes: snap.days![0]!.bytes };
      const n = await duckdb.run(async (con) =>
        Number((await con.runAndReadAll(`SELECT count(*) FROM ${sqlString(out)}`)).getRows()[0]![0]),
      );
      duckOut = { rows: n, bytes: statSync(out).size };
    }
  } finally {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `lake-compaction bench: ${FILES} files x ${per} rows in one hour partition (~20% duplicates), storage: ${mode}, ` +
    `median of ${RUNS} runs after 1 warm-up`,
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
line('ticklake compactPartition (end to end, DuckDB rewrite)', mo, oursOut);
line('duckdb read_parquet + dedupe + order by + COPY', md, duckOut);
console.log(`ticklake / duckdb time ratio: ${(mo / md).toFixed(2)}`);
const keys = Object.keys(phases[0] ?? {}) as (keyof CompactionTimings)[];
console.log(
  `compactPartition phases (median ms): ${keys.map((k) => `${k} ${median(phases.map((p) => p[k])).toFixed(1)}`).join(', ')}`,
);
await duckdb.close();
