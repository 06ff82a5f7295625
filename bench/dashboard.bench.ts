/**
 * The live dashboard under the demo's load, on the real local broker (test-profile stack):
 *
 *   node --import tsx bench/dashboard.bench.ts [--dashboards 20] [--seconds 120] [--idle 45] [--symbols 50]
 *
 * The demo's market (synthetic, speed 1, 50 symbols × 2 ticks/s, start now) runs through `runIngest` and the real
 * StreamProcessor in this process; `ticklake dashboard` runs as a child process on this run's own topics and lake
 * prefix, so its CPU and RSS are its own (read from /proc). Phases, all in one run:
 *  1. warm-up until the first bars have closed;
 *  2. `--idle` seconds with no dashboard open: the server's CPU and RSS consuming the stream (the baseline);
 *  3. one headless Chromium loads the dashboard `--loads` times: first contentful paint (the browser's own, the
 *     baseline) and the first meaningful paint = the chart drawn with the day's bars
 *     (`window.ticklakeStats.firstChartMs`), both from navigation start; then it stays open on its symbol;
 *  4. `--seconds` with `--dashboards` open (that page + plain SSE clients on /api/stream, which the server serves
 *     exactly as it serves a page): server CPU and RSS again, and each new bar's delay from its window's close to
 *     the chart (`barDelaysMs`, measured in the page) and to the SSE clients; the baseline is the same bars' delay
 *     to this process's own consumer of bars.1m, i.e. what the pipeline takes before the dashboard is involved.
 * Bounded: stops after the phases, kills the child and deletes its topics and groups on any exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { barSchema } from '../core/schemas/bar.ts';
import { kafkaClient } from '../infra/clients.ts';
import { loadConfig } from '../infra/config.ts';
import { createLogger } from '../infra/logger.ts';
import { loadShippedReference } from '../infra/reference-file.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { runIngest } from '../streaming/ingest.ts';
import { StreamProcessor } from '../streaming/processor/processor.ts';
import { ReferenceCache } from '../streaming/reference-cache.ts';
import { createSyntheticSource } from '../streaming/sources/synthetic/source.ts';
import { ensureTopics, topicName } from '../streaming/topics.ts';
import { launchChromium, screenshotDir } from '../test/support/chromium.ts';
import { freePort } from '../test/support/servers.ts';
import { deleteByPrefix, nowMs } from './kafka-bench-util.ts';
import { median } from './support.ts';

const { values: args } = parseArgs({
  options: {
    dashboards: { type: 'string', default: '20' },
    loads: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '120' },
    idle: { type: 'string', default: '45' },
    symbols: { type: 'string', default: '50' },
  },
});
const DASHBOARDS = Number(args.dashboards);
const LOADS = Number(args.loads);
const SECONDS = Number(args.seconds);
const IDLE = Number(args.idle);
const SYMBOLS = Number(args.symbols);
const BIN = fileURLToPath(new URL('../bin/ticklake.mjs', import.meta.url));
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const prefix = `bench-dash-${Date.now().toString(36)}.`;
const port = await freePort();
const metricsPort = await freePort();
const env = {
  ...process.env,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_TOPICS_PARTITIONS: '2',
  TICKLAKE_PROCESSOR_GROUP_ID: `${prefix}processor`,
  TICKLAKE_S3_LAKE_PREFIX: `${prefix.replace(/\.$/, '')}/`,
  TICKLAKE_DASHBOARD_PORT: String(port),
  TICKLAKE_METRICS_DASHBOARD_PORT: String(metricsPort),
  TICKLAKE_LOG_LEVEL: 'warn',
};
const config = loadConfig({ env, profile: testStackProfile() });
const log = createLogger({ bench: 'dashboard' }, 'warn');
const kafka = kafkaClient(config, 'bench-dashboard');
let child: ChildProcess | undefined;
let browser: Browser | undefined;

/** The child's CPU (utime + stime, USER_HZ = 100) and RSS (VmRSS) from /proc. */
function procSampler(pid: number) {
  const cpuTicks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  return async (seconds: number) => {
    const t0 = { ticks: cpuTicks(), at: nowMs() };
    const samples: number[] = [];
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      samples.push(rss());
      await sleep(1000);
    }
    const cpuPct = ((cpuTicks() - t0.ticks) * 10) / (nowMs() - t0.at) / 1e-2;
    return { cpuPct, rssMedian: median(samples), rssMax: Math.max(...samples) };
  };
}

/** An SSE client as a dashboard is one: reads /api/stream and notes each new bar's delay after its window closed. */
async function sseClient(url: string) {
  const barDelays: number[] = [];
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        if (!frame.startsWith('event: bar\n')) continue;
        const b = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { time: number; revision: number };
        if (b.revision === 0) barDelays.push(Date.now() - (b.time + 60) * 1000);
      }
    }
  })();
  return { barDelays, close: () => ac.abort() };
}

async function cleanup() {
  await browser?.close().catch(() => {});
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await deleteByPrefix(kafka, prefix).catch(() => {});
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  await ensureTopics(kafka, config);
  const reference = new ReferenceCache(kafka, topicName(config, 'referenceSymbols'), loadShippedReference(), log);
  await reference.start();
  child = spawn(process.execPath, [BIN, '--profile', 'test', 'dashboard'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child!.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      if (stderr.includes('[dashboard] http://')) resolve();
    });
    child!.once('exit', (code) => reject(new Error(`dashboard exited ${code}: ${stderr}`)));
  });
  const sample = procSampler(child.pid!);
  const base = `http://127.0.0.1:${port}`;

  // The pipeline's own delay, window close → bars.1m consumer here (the baseline of the chart's delay).
  const topicDelay = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `${prefix}bench-bars`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(config, 'bars'), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const b = barSchema.parse(JSON.parse(message.value!.toString()));
      if (b.revision === 0) topicDelay.set(`${b.symbol}@${b.windowStart}`, Date.now() - b.windowEnd / 1000);
    },
  });

  const processor = new StreamProcessor({ config, kafka, reference, log, instanceId: 'bench-0' });
  await processor.start();
  const stop = new AbortController();
  const source = createSyntheticSource({ seed: 7, symbols: SYMBOLS, speed: 1, start: 'now', tradingHours: false });
  const ingest = runIngest({
    config,
    kafka,
    created: { source, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: stop.signal,
  });
  const symbols = source.universe.map((r) => r.symbol);
  process.stderr.write(`[bench] ${SYMBOLS} symbols at speed 1; waiting for the first bars to close\n`);
  while (topicDelay.size < SYMBOLS) await sleep(500);

  process.stderr.write(`[bench] ${IDLE}s with no dashboard open\n`);
  const idle = await sample(IDLE);

  // One real dashboard in Chromium, loaded --loads times for its paints, then left open on its symbol; the other
  // dashboards are plain SSE clients reading the same stream (the server cannot tell them apart), so the machine's
  // CPU goes to the server and not to 20 renderers.
  browser = await launchChromium();
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  const charted = symbols[0]!;
  const paints: { fcp: number; fmp: number }[] = [];
  for (let i = 0; i < LOADS; i++) {
    await page.goto(`${base}/?load=${i}#symbol=${encodeURIComponent(charted)}`, { timeout: 180_000 });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 }).catch(async (err: Error) => {
      throw new Error(
        `dashboard not ready (${await page.locator('#conn').textContent()}; ${problems.join('; ')}): ${err.message}`,
      );
    });
    paints.push(
      await page.evaluate(() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
        const stats = (window as unknown as { ticklakeStats: { firstChartMs: number } }).ticklakeStats;
        return { fcp, fmp: stats.firstChartMs };
      }),
    );
  }
  const streams = await Promise.all(Array.from({ length: DASHBOARDS - 1 }, () => sseClient(`${base}/api/stream`)));
  await page.screenshot({ path: join(screenshotDir(), 'dashboard-bench.png') });
  process.stderr.write(
    `[bench] ${SECONDS}s with ${DASHBOARDS} dashboards open (1 Chromium + ${DASHBOARDS - 1} SSE clients)\n`,
  );
  const open = await sample(SECONDS);
  const clients = ((await (await fetch(`${base}/api/health`)).json()) as { clients: number }).clients;
  const chartDelays = await page.evaluate(
    () => (window as unknown as { ticklakeStats: { barDelaysMs: number[] } }).ticklakeStats.barDelaysMs,
  );
  const baseDelays = [...topicDelay].filter(([k]) => k.startsWith(`${charted}@`)).map(([, v]) => v);
  const sseDelays = streams.flatMap((s) => s.barDelays);
  for (const s of streams) s.close();
  stop.abort();
  await ingest.catch(() => {});
  await processor.stop();
  await consumer.disconnect();
  await reference.stop();

  const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
  const ms = (n: number) => n.toFixed(0);
  process.stdout.write(
    `\nDashboard under the demo's load (${SYMBOLS} symbols × 2 ticks/s), ${DASHBOARDS} dashboards, load average ${loadavg()[0]!.toFixed(1)}\n` +
      `| measurement | median | baseline | baseline is |\n|---|---:|---:|---|\n` +
      `| first meaningful paint (chart drawn with the day's bars), ms | ${ms(median(paints.map((p) => p.fmp)))} | ${ms(median(paints.map((p) => p.fcp)))} | first contentful paint, same pages |\n` +
      `| new bar on the chart after its window closed, ms (n=${chartDelays.length}) | ${ms(median(chartDelays))} | ${ms(median(baseDelays))} | the symbol's bars on bars.1m, a plain consumer (n=${baseDelays.length}) |\n` +
      `| any bar at an SSE client after its window closed, ms (n=${sseDelays.length}) | ${ms(median(sseDelays))} | ${ms(median([...topicDelay.values()]))} | all bars on bars.1m, a plain consumer |\n` +
      `| server CPU, % of one core | ${open.cpuPct.toFixed(1)} | ${idle.cpuPct.toFixed(1)} | no dashboard open |\n` +
      `| server RSS, MB (max) | ${mb(open.rssMedian)} (${mb(open.rssMax)}) | ${mb(idle.rssMedian)} (${mb(idle.rssMax)}) | no dashboard open |\n` +
      `SSE clients the server counted: ${clients}; ${LOADS} page loads\n`,
  );
} finally {
  await cleanup();
}
