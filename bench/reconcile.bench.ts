/**
 * Reconciliation of a trading day of 50 symbols (core/reconcile/ through activities/reconcile.ts) next to what its
 * reads alone cost: the same raw ticks, bars and alerts read from the lake on the test stack's S3 (versitygw) with
 * readRows. The ratio is the reconciliation's overhead over reading the rows it needs. Setup builds the day once: the
 * synthetic market, "the stream" (one SpeedLayerPartition per partition, as `ticklake alerts` and the processor
 * run), and sink-sized files of raw ticks, bars and alerts in the lake. Needs the test stack (S3).
 *
 *   node --import tsx bench/reconcile.bench.ts [symbols 50] [ratePerSymbol 0.2] [runs 3]
 */
import { randomBytes } from 'node:crypto';
import { reconcileWindows } from '../activities/reconcile.ts';
import { AlertEngine, fnv1a, sourceOwner } from '../core/alerts/engine.ts';
import { SpeedLayerPartition } from '../core/alerts/partition.ts';
import { NO_MODEL_SCORERS } from '../core/models/score.ts';
import { emptyOutputs, PartitionPipeline, pipelineOptionsFrom } from '../core/pipeline.ts';
import { ALERT_SLACK_US, leadInStartUs, tailEndUs } from '../core/reconcile/reconcile.ts';
import type { Alert } from '../core/schemas/alert.ts';
import { barKey, type Bar } from '../core/schemas/bar.ts';
import { HEARTBEAT_KEY, heartbeatValue } from '../core/schemas/heartbeat.ts';
import type { Tick } from '../core/schemas/tick.ts';
import { loadRulesFile, rulesFilePath } from '../infra/alerts/rules-file.ts';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { partitionOf } from '../lake/layout.ts';
import { readRows } from '../lake/reader.ts';
import { S3Storage } from '../lake/storage/s3.ts';
import { alertsTable, barsTable, rawTable, type TableDef } from '../lake/tables.ts';
import { LakeWriter } from '../lake/writer.ts';
import { SyntheticGenerator } from '../streaming/sources/synthetic/generator.ts';
import { parseSyntheticOptions, resolveStartUs } from '../streaming/sources/synthetic/source.ts';
import { syntheticUniverse } from '../streaming/sources/synthetic/universe.ts';
import { machine, timeIt } from './lake-bench-util.ts';
import { median, printTable } from './support.ts';

const SYMBOLS = Number(process.argv[2] ?? 50);
const RATE = Number(process.argv[3] ?? 0.2);
const RUNS = Number(process.argv[4] ?? 3);
const PARTITIONS = 3;
const OPEN = Date.parse('2026-11-20T14:30:00Z') * 1000;
const CLOSE = Date.parse('2026-11-20T21:00:00Z') * 1000;
const config = loadConfig({ profile: testStackProfile() });
const storage = new S3Storage(config.s3, { prefix: `bench-reconcile-${randomBytes(4).toString('hex')}/` });
const pipeline = pipelineOptionsFrom(config);
const { rules } = loadRulesFile(rulesFilePath(config));

process.stdout.write(`${machine()}\n${SYMBOLS} symbols, ${RATE} ticks/s each, 14:30-21:00 UTC, ${RUNS} runs\n`);

// ---- the day, as the stream saw it
const market = parseSyntheticOptions({
  seed: 12,
  symbols: SYMBOLS,
  ratePerSymbol: RATE,
  speed: 0,
  start: new Date(OPEN / 1000).toISOString(),
  referenceFile: null,
  anomalies: { priceJump: { rate: 0.0005 }, volumeSpike: { rate: 0.0005 }, late: { rate: 0.0001, min: 90, max: 300 } },
});
const gen = new SyntheticGenerator(
  market,
  syntheticUniverse(market.symbols, market.seed, []),
  resolveStartUs(market, 0),
);
const parts = Array.from({ length: PARTITIONS }, (_, p) => ({
  speed: new SpeedLayerPartition(
    PartitionPipeline.create(pipeline),
    new AlertEngine(rules, {
      now: () => 0,
      scorers: NO_MODEL_SCORERS,
      ownsSource: (s) => sourceOwner(s, PARTITIONS) === p,
    }),
  ),
  offset: 0,
}));
const raw: Tick[] = [];
const alerts: Alert[] = [];
const latest = new Map<string, Bar>();
const out = emptyOutputs();
let nextHb = 0;
let maxTs = 0;
for (let r = gen.next(); r !== undefined; r = gen.next()) {
  const value = typeof r.value === 'string' ? Buffer.from(r.value) : r.value!;
  const tick = JSON.parse(value.toString()) as Tick;
  if (tick.ts >= CLOSE) break;
  raw.push(tick);
  maxTs = Math.max(maxTs, tick.ts);
  if (nextHb === 0) nextHb = tick.ts + 1_000_000;
  while (maxTs >= nextHb) {
    for (const part of parts) {
      const hb = Buffer.from(heartbeatValue(market.source, nextHb));
      part.speed.apply(
        { key: HEARTBEAT_KEY, value: hb, offset: String(part.offset++), timestampMs: 0 },
        undefined,
        0,
        alerts,
        out,
      );
    }
    nextHb += 1_000_000;
  }
  const part = parts[fnv1a(r.key!) % PARTITIONS]!;
  const rec = { key: r.key, value, offset: String(part.offset++), timestampMs: Math.floor(tick.recvTs / 1000) };
  part.speed.apply(rec, undefined, 0, alerts, out);
  for (const b of out.bars) latest.set(barKey(b.symbol, b.windowStart), b);
  out.bars.length = 0;
  out.enriched.length = 0;
  out.late.length = 0;
  out.rejected.length = 0;
}

// ---- into the lake: one file set per 10 minutes of arrival, like a sink's flushes
async function land<Row>(def: TableDef<Row>, rows: Row[], timeOf: (r: Row) => number): Promise<void> {
  const lake = new LakeWriter(storage);
  const chunkUs = 600_000_000;
  const byChunk = new Map<number, Row[]>();
  for (const r of rows) {
    const c = Math.floor(timeOf(r) / chunkUs);
    (byChunk.get(c) ?? byChunk.set(c, []).get(c)!).push(r);
  }
  let offset = 0;
  for (const [, chunk] of [...byChunk].sort(([a], [b]) => a - b)) {
    const range = {
      topic: def.name,
      partition: 0,
      startOffset: String(offset),
      endOffset: String(offset + chunk.length - 1),
    };
    offset += chunk.length;
    await lake.commit(def, await lake.writeFile(def, chunk, range));
  }
}
const bars = [...latest.values()];
await land(rawTable, raw, (t) => t.recvTs);
await land(barsTable, bars, (b) => b.windowEnd);
await land(alertsTable, alerts, (a) => a.ts);
process.stdout.write(
  `lake: ${raw.length} raw ticks, ${bars.length} bars, ${alerts.length} alerts in ${new Set(raw.map((t) => partitionOf(t.ts))).size} partitions\n`,
);

// ---- the runs
const slackUs = config.reconciliation.boundarySlackMs * 1000;
const replayOpts = { pipeline, rules };
async function readOnly(): Promise<number> {
  let n = 0;
  const count = async <Row>(def: TableDef<Row>, fromUs: number, toUs: number) => {
    for await (const p of readRows(storage, def, { fromUs, toUs })) n += p.rows.length;
  };
  await count(
    rawTable,
    leadInStartUs(OPEN, config.reconciliation.leadInMinutes * 60_000_000),
    tailEndUs(CLOSE, replayOpts, slackUs),
  );
  await count(barsTable, OPEN, CLOSE);
  await count(alertsTable, OPEN - ALERT_SLACK_US, CLOSE + ALERT_SLACK_US);
  return n;
}
const readMs: number[] = [];
const reconcileMs: number[] = [];
let summary: Awaited<ReturnType<typeof reconcileWindows>> | undefined;
let rowsRead = 0;
for (let i = 0; i < RUNS; i++) {
  readMs.push(await timeIt(async () => void (rowsRead = await readOnly())));
  process.stdout.write(`run ${i + 1}: read ${Math.round(readMs.at(-1)!)} ms\n`);
  reconcileMs.push(
    await timeIt(async () => {
      summary = await reconcileWindows(
        { storage, config },
        { fromUs: OPEN, toUs: CLOSE, runId: `bench-${i}`, runTs: Date.now() * 1000, write: false },
      );
    }),
  );
  process.stdout.write(`run ${i + 1}: reconcile ${Math.round(reconcileMs.at(-1)!)} ms\n`);
}
const t = summary!.totals;
process.stdout.write(
  `rows read ${rowsRead}; bars matched ${t.bars.matched}/${t.bars.batchRows}, late ${t.bars.late}, ` +
    `missing_partition ${t.bars.missing_partition}, disagreement ${t.bars.disagreement}; alerts matched ${t.alerts.matched}/${t.alerts.batchRows}, ` +
    `disagreement ${t.alerts.disagreement}\n`,
);
printTable('reconciliation of one day (ms)', [
  ['reconcileWindows (read + replay + compare)', median(reconcileMs), median(readMs), 'readRows of the same rows'],
]);
process.stdout.write(
  `raw ticks/s reconciled: ${Math.round(raw.length / (median(reconcileMs) / 1000)).toLocaleString('en-US')}\n`,
);
for (const o of await storage.list('')) await storage.delete(o.key);
storage.client.destroy();
