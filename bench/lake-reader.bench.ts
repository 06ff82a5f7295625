/**
 * A selective scan (one symbol of 50) of a big sorted file on the test stack's S3 server (versitygw): the reader's
 * ranged GETs (footer + the row groups the manifest's statistics keep) next to fetching the whole object and
 * decoding the same row groups, in the same run. Then a full scan of the file projected to two columns
 * (`price`, `size`; `id`, `symbol`, `ts` are read anyway for filtering and dedupe) next to all 15 columns. Needs the test stack. On loopback the bytes saved cost nothing to
 * move, so the times show the overhead of the extra request; against a real S3 the bytes dominate.
 *
 *   node --import tsx bench/lake-reader.bench.ts [rows 1000000] [runs 7]
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { fromRecordBatch } from '../lake/columns.ts';
import { decodeParquet } from '../lake/parquet.ts';
import type { RangedReadStats } from '../lake/ranged-object.ts';
import { planScan, scanColumns } from '../lake/reader.ts';
import { S3Storage } from '../lake/storage/s3.ts';
import { rawTable } from '../lake/tables.ts';
import { LakeWriter } from '../lake/writer.ts';
import { syntheticTicks } from './lake-bench-util.ts';
import { median, printTable } from './support.ts';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 7);
const config = loadConfig({ profile: testStackProfile() });
const storage = new S3Storage(config.s3, { prefix: `bench-reader-${randomBytes(4).toString('hex')}/` });
const lake = new LakeWriter(storage);
const range = { topic: 't', partition: 0, startOffset: '0', endOffset: String(ROWS - 1) };
await lake.commit(rawTable, await lake.writeFile(rawTable, syntheticTicks(ROWS), range));
const filter = { symbols: ['SYM17'] };
const plan = await planScan(storage, 'raw', filter);
const { entry, rowGroups } = plan.files[0]!;

async function ranged(): Promise<{ rows: number; bytes: number }> {
  const stats: RangedReadStats = { requests: 0, bytes: 0 };
  let rows = 0;
  for await (const cols of scanColumns(storage, rawTable, filter, stats)) rows += cols.id!.length;
  return { rows, bytes: stats.bytes };
}

// What the reader did before: the same plan, the whole object, then only the kept row groups decoded.
async function whole(): Promise<{ rows: number; bytes: number }> {
  const { files } = await planScan(storage, 'raw', filter);
  const bytes = (await storage.get(files[0]!.entry.path))!;
  let rows = 0;
  for (const batch of decodeParquet(bytes, { rowGroups: files[0]!.rowGroups })) {
    const cols = fromRecordBatch(rawTable.columns, batch);
    rows += (cols.symbol as string[]).filter((s) => s === 'SYM17').length;
  }
  return { rows, bytes: bytes.length };
}

const times = { ranged: [] as number[], whole: [] as number[] };
const fetched = { ranged: 0, whole: 0 };
for (let run = 0; run <= RUNS; run++) {
  for (const [name, fn] of [
    ['ranged', ranged],
    ['whole', whole],
  ] as const) {
    const t0 = performance.now();
    const r = await fn();
    if (run > 0) times[name].push(performance.now() - t0);
    fetched[name] = r.bytes;
    if (r.rows !== ROWS / 50) throw new Error(`${name} read ${r.rows} rows, expected ${ROWS / 50}`);
  }
}
// Projection: every row, 2 chosen columns (+ the 3 always read) vs all columns, same file, same run.
async function projected(columns?: string[]): Promise<{ rows: number; bytes: number; requests: number }> {
  const stats: RangedReadStats = { requests: 0, bytes: 0 };
  let rows = 0;
  for await (const cols of scanColumns(storage, rawTable, { columns }, stats)) rows += cols.id!.length;
  return { rows, ...stats };
}
const proj = { two: [] as number[], all: [] as number[] };
const projFetched = { two: { bytes: 0, requests: 0 }, all: { bytes: 0, requests: 0 } };
for (let run = 0; run <= RUNS; run++) {
  for (const [name, columns] of [
    ['two', ['price', 'size']],
    ['all', undefined],
  ] as const) {
    const t0 = performance.now();
    const r = await projected(columns ? [...columns] : undefined);
    if (run > 0) proj[name].push(performance.now() - t0);
    projFetched[name] = r;
    if (r.rows !== ROWS) throw new Error(`${name} read ${r.rows} rows, expected ${ROWS}`);
  }
}

for (const o of await storage.list('')) await storage.delete(o.key);
storage.client.destroy();

printTable(
  `lake reader bench: one symbol of 50 from a ${ROWS}-row file (${entry.rowGroups.length} row groups, ` +
    `${rowGroups.length} kept) on versitygw, median ms of ${RUNS}`,
  [['scan with ranged GETs', median(times.ranged), median(times.whole), 'whole object fetched, same row groups']],
);
process.stdout.write(
  `bytes fetched: ${(fetched.ranged / 1024).toFixed(0)} KiB ranged vs ${(fetched.whole / 1024).toFixed(0)} KiB whole\n`,
);
printTable(`full scan of the ${ROWS}-row file projected to price,size (+ id,symbol,ts), median ms of ${RUNS}`, [
  ['scan, columns: price,size', median(proj.two), median(proj.all), 'all 15 columns'],
]);
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
process.stdout.write(
  `bytes fetched: ${kib(projFetched.two.bytes)} in ${projFetched.two.requests} GETs projected vs ` +
    `${kib(projFetched.all.bytes)} in ${projFetched.all.requests} GETs all columns\n`,
);
process.exit(0);
