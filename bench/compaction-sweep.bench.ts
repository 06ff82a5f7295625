/**
 * The hourly compaction sweep on one hour of raw ticks at the demo's rate: 50 symbols at ~100 ticks/s is 360,000
 * ticks, landed by the sink as 6 partitions × one file per `sink.maxAgeMs` (10 s) = 360 small files. Timed two
 * ways on identical copies of that hour, in the same run:
 *  - the sweep as scheduled: `compactionSweepWorkflow` on a local Temporal dev server (the stack's cached binary)
 *    with a real worker, from start to result;
 *  - the baseline: `compactPartition` called directly on the same files (the ratio is what Temporal adds).
 * FsStorage in a temp dir, so the figure is the compaction's own (S3 transfer excluded).
 *
 *   node --import tsx bench/compaction-sweep.bench.ts [--files 360] [--rows-per-file 1000] [--runs 3]
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLakeActivities } from '../activities/lake.ts';
import { compactPartition } from '../lake/compaction.ts';
import { DuckDb } from '../lake/duckdb.ts';
import { partitionOf } from '../lake/layout.ts';
import { FsStorage } from '../lake/storage/fs.ts';
import { rawTable } from '../lake/tables.ts';
import { LakeWriter } from '../lake/writer.ts';
import { localTemporal, startTestWorker } from '../test/support/temporal.ts';
import { compactionSweepWorkflow } from '../workflows/index.ts';
import { WORKFLOW_IDS } from '../workflows/constants.ts';
import { makeTicks } from '../test/unit/lake/fixtures.ts';
import { median } from './support.ts';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '360' },
    'rows-per-file': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
  },
});
const FILES = Number(args.files);
const ROWS = Number(args['rows-per-file']);
const RUNS = Number(args.runs);
const HOUR_START_US = Date.UTC(2026, 10, 20, 14) * 1000;

async function seed(dir: string): Promise<void> {
  const lake = new LakeWriter(new FsStorage(dir));
  for (let f = 0; f < FILES; f++) {
    const partition = f % 6;
    const slot = Math.floor(f / 6);
    const ticks = makeTicks(ROWS, {
      startUs: HOUR_START_US + slot * 10_000_000,
      spanUs: 10_000_000 - 1,
      seq0: f * ROWS,
    });
    const range = {
      topic: 'ticks.raw',
      partition,
      startOffset: String(slot * ROWS),
      endOffset: String(slot * ROWS + ROWS - 1),
    };
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range));
  }
}

const duckdb = new DuckDb();
const root = await mkdtemp(join(tmpdir(), 'ticklake-sweep-bench-'));
const env = await localTemporal();
try {
  const template = join(root, 'template');
  const started = performance.now();
  await seed(template);
  process.stderr.write(
    `seeded ${FILES} files × ${ROWS} rows in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  const sweepSecs: number[] = [];
  const directSecs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // The scheduled path: a sweep workflow and its child, on a worker of the real activities.
    const a = join(root, `sweep-${run}`);
    await cp(template, a, { recursive: true });
    const taskQueue = `sweep-bench-${randomUUID()}`;
    const stop = await startTestWorker(
      env,
      taskQueue,
      createLakeActivities({ storage: new FsStorage(a), duckdb, targetBytes: 128 * 1024 * 1024 }),
    );
    let t0 = performance.now();
    const result = await env.client.workflow.execute(compactionSweepWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.compactionSweep(randomUUID()),
      args: [{ tables: ['raw'] }],
    });
    sweepSecs.push((performance.now() - t0) / 1000);
    await stop();
    if (result.compacted !== 1) throw new Error(`expected one compacted partition, got ${JSON.stringify(result)}`);
    // The baseline: the same rewrite called directly.
    const b = join(root, `direct-${run}`);
    await cp(template, b, { recursive: true });
    t0 = performance.now();
    const direct = await compactPartition(
      { storage: new FsStorage(b), duckdb },
      rawTable,
      partitionOf(HOUR_START_US),
      {},
    );
    directSecs.push((performance.now() - t0) / 1000);
    if (direct.status !== 'committed') throw new Error(`direct compaction: ${direct.status}`);
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  }
  const sweep = median(sweepSecs);
  const direct = median(directSecs);
  process.stdout.write(
    `\ncompaction sweep, one hour of ${(FILES * ROWS).toLocaleString('en-US')} raw ticks in ${FILES} files, ` +
      `median of ${RUNS}\n` +
      `| measurement | seconds | rows/s |\n|---|---:|---:|\n` +
      `| compactionSweepWorkflow on Temporal (find + child + compact) | ${sweep.toFixed(2)} | ${Math.round((FILES * ROWS) / sweep).toLocaleString('en-US')} |\n` +
      `| compactPartition called directly (baseline) | ${direct.toFixed(2)} | ${Math.round((FILES * ROWS) / direct).toLocaleString('en-US')} |\n` +
      `| ratio | ${(sweep / direct).toFixed(2)} | |\n` +
      `runs: sweep ${sweepSecs.map((s) => s.toFixed(2)).join(', ')}; direct ${directSecs.map((s) => s.toFixed(2)).join(', ')}\n`,
  );
} finally {
  await env.teardown();
  await duckdb.close();
  await rm(root, { recursive: true, force: true });
}
