/**
 * Warehouse loader throughput against the BigQuery emulator of the test stack: `Warehouse.loadDay` (read the day
 * from the lake on S3, check each file's schema, stage, DELETE + INSERT deduplicated, ledger) next to a bare
 * `table.load` of the same Parquet file into a table of the same schema in the same emulator, in the same run.
 * The ratio is the loader's overhead. `npm run bench -- warehouse-load` (ROWS=... to change the size).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigqueryClient, warehouseDeps } from '../infra/clients.ts';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { closeDuckDb } from '../lake/duckdb.ts';
import { S3Storage } from '../lake/storage/s3.ts';
import { rawTable } from '../lake/tables.ts';
import { LakeWriter } from '../lake/writer.ts';
import { tableMetadata, warehouseTable } from '../warehouse/tables.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { dropWarehouseAndLake } from '../test/support/warehouse.ts';
import { makeTicks } from '../test/unit/lake/fixtures.ts';
import { median, printTable } from './support.ts';

const ROWS = Number(process.env.ROWS ?? 100_000);
const RUNS = 3;
const DAY = '2026-11-20';
const config = loadConfig({ profile: testStackProfile() });
const bq = bigqueryClient(config);
const dataset = `bench_wh_${randomBytes(4).toString('hex')}`;
const storage = new S3Storage(config.s3, { prefix: `bench-wh-${randomBytes(4).toString('hex')}/` });
const dir = await mkdtemp(join(tmpdir(), 'bench-wh-'));

try {
  const ticks = makeTicks(ROWS, { startUs: Date.parse(`${DAY}T10:00:00Z`) * 1000, spanUs: 3_600_000_000 - 1 });
  const lake = new LakeWriter(storage);
  const entries = await lake.writeFile(rawTable, ticks, {
    topic: 'ticks.raw',
    partition: 0,
    startOffset: '0',
    endOffset: String(ROWS - 1),
  });
  await lake.commit(rawTable, entries);
  const file = join(dir, 'day.parquet');
  await writeFile(file, (await storage.get(entries[0]!.path))!);
  process.stdout.write(`${ROWS} ticks in ${entries.length} file(s), ${entries[0]!.bytes} bytes\n`);

  const wh = new Warehouse({ ...warehouseDeps(config, storage), dataset });
  await wh.apply();
  const loader: number[] = [];
  const bare: number[] = [];
  const meta = tableMetadata(warehouseTable('ticks'));
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const r = await wh.loadDay('ticks', DAY, { force: true });
    loader.push(performance.now() - t);
    if (r.rows !== ROWS) throw new Error(`loader loaded ${r.rows} rows, expected ${ROWS}`);
    const table = bq.dataset(dataset).table(`bare_${i}`);
    await bq.dataset(dataset).createTable(`bare_${i}`, meta);
    t = performance.now();
    await table.load(file, { sourceFormat: 'PARQUET', writeDisposition: 'WRITE_APPEND', schema: meta.schema });
    bare.push(performance.now() - t);
  }
  const perSec = (ms: number) => ROWS / (ms / 1000);
  process.stdout.write(
    `loader ms: ${loader.map((m) => m.toFixed(0)).join(', ')}; bare table.load ms: ${bare.map((m) => m.toFixed(0)).join(', ')}\n`,
  );
  printTable(`Warehouse load of one day (${ROWS} ticks, ${RUNS} runs, median)`, [
    [
      'loader rows/s (loadDay, forced)',
      perSec(median(loader)),
      perSec(median(bare)),
      'bare table.load of the same file',
    ],
  ]);
} finally {
  await dropWarehouseAndLake(bq, dataset, storage);
  storage.client.destroy();
  await rm(dir, { recursive: true, force: true });
  await closeDuckDb();
}
