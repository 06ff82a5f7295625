/**
 * `npm run bench [-- name ...]`: runs the benchmarks one after another (they would skew each other in parallel on
 * 2 cores), starting the test-profile stack for those that need Kafka or S3 and stopping it afterwards if it
 * started it. Each benchmark's output is also written to reports/bench/<name>.txt. Numbers and their reading:
 * docs/BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { stackDown, stackStatus, stackUp } from '../infra/stack/stack.ts';

const BENCHES = [
  { name: 'validate', file: 'validate.bench.ts', stack: false },
  { name: 'core-pipeline', file: 'core-pipeline.bench.ts', stack: false },
  { name: 'alerts-engine', file: 'alerts-engine.bench.ts', stack: false },
  { name: 'models', file: 'models.bench.ts', stack: false },
  { name: 'processor-metrics', file: 'processor-metrics.bench.ts', stack: false },
  { name: 'synthetic', file: 'synthetic.bench.ts', stack: false },
  { name: 'replay', file: 'replay.bench.ts', stack: false },
  { name: 'lake-parquet', file: 'lake-parquet.bench.ts', stack: false },
  { name: 'lake-compaction', file: 'lake-compaction.bench.ts', stack: false },
  { name: 'compaction-sweep', file: 'compaction-sweep.bench.ts', stack: false },
  { name: 'sink-encode', file: 'sink-encode.bench.ts', stack: false },
  { name: 'report', file: 'report.bench.ts', stack: false },
  { name: 'stream', file: 'stream.bench.ts', stack: true },
  { name: 'latency', file: 'latency.bench.ts', stack: true },
  { name: 'sink', file: 'sink.bench.ts', stack: true },
  { name: 'lake-manifest', file: 'lake-manifest.bench.ts', stack: true },
  { name: 'lake-reader', file: 'lake-reader.bench.ts', stack: true },
  { name: 'warehouse-load', file: 'warehouse-load.bench.ts', stack: true },
  { name: 'freshness', file: 'freshness.bench.ts', stack: true },
  { name: 'reconcile', file: 'reconcile.bench.ts', stack: true },
  { name: 'kafka-clients', file: 'kafka-clients.bench.ts', stack: true },
  { name: 'webhooks', file: 'webhooks.bench.ts', stack: true },
  { name: 'tick-to-webhook', file: 'tick-to-webhook.bench.ts', stack: true },
  { name: 'dashboard', file: 'dashboard.bench.ts', stack: true },
] as const;

// Names first, then options for the benchmarks selected: `npm run bench -- tick-to-webhook --rate 100 --seconds 60`.
const firstOption = process.argv.findIndex((a, i) => i >= 2 && a.startsWith('--'));
const wanted = process.argv.slice(2, firstOption < 0 ? undefined : firstOption);
const benchArgs = firstOption < 0 ? [] : process.argv.slice(firstOption);
const selected = BENCHES.filter((b) => wanted.length === 0 || wanted.includes(b.name));
const reports = fileURLToPath(new URL('../reports/bench/', import.meta.url));
mkdirSync(reports, { recursive: true });

process.stdout.write(
  `machine: ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);

const config = loadConfig({ profile: testStackProfile() });
let startedStack = false;
if (selected.some((b) => b.stack)) {
  const statuses = await stackStatus({ config });
  const healthy = statuses.every((s) => s.state === 'healthy' || s.name === 'prometheus');
  if (!healthy) {
    // A stack someone else runs (tests, another bench) may be slow to answer one health check: start what is
    // missing, but stop at the end only a stack that was not running at all before.
    startedStack = statuses.every((s) => s.state === 'stopped' || s.state === 'skipped');
    await stackUp({ config, progress: (l) => process.stderr.write(`[stack] ${l}\n`) });
  }
}

let failed = 0;
try {
  for (const b of selected) {
    process.stdout.write(`\n=== ${b.name} (bench/${b.file})\n`);
    const out = createWriteStream(`${reports}${b.name}.txt`);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(new URL(b.file, import.meta.url)), ...benchArgs],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: {
            ...process.env,
            KAFKAJS_NO_PARTITIONER_WARNING: '1',
          },
        },
      );
      child.stdout.on('data', (d: Buffer) => {
        process.stdout.write(d);
        out.write(d);
      });
      child.once('exit', resolve);
    });
    out.end();
    if (code !== 0) {
      failed++;
      process.stdout.write(`${b.name} exited with ${code}\n`);
    }
  }
} finally {
  if (startedStack) await stackDown({ config });
}
process.exitCode = failed ? 1 : 0;
