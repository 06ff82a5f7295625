/**
 * What the processor's per-record metrics cost (streaming/processor/metrics.ts observeCommitted: two latency
 * histograms and the per-source count per record), in ns per record, next to the pure per-record path (decode,
 * dedupe, enrich) and the same observations through prom-client's own Histogram, all measured in the same run.
 *
 *   node --import tsx bench/processor-metrics.bench.ts [records] [runs]
 */
import { cpus } from 'node:os';
import { Histogram, Registry } from 'prom-client';
import { Deduper } from '../core/dedupe.ts';
import { Enricher } from '../core/enrich.ts';
import { emptyOutputs } from '../core/pipeline.ts';
import type { EnrichedTick } from '../core/schemas/enriched.ts';
import { DEFAULT_VALIDATION_LIMITS, decodeRawTick } from '../core/validate.ts';
import { createProcessorMetrics, observeCommitted, type ProcessorMetrics } from '../streaming/processor/metrics.ts';
import { BENCH_NOW_US, makePayloads, measure } from './tick-payloads.ts';

const records = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 7);
const BATCH = 1000;
const payloads = makePayloads(records);
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${records} records, batches of ${BATCH}, median of ${runs} runs`,
);

let calls = 0;
let deduper = new Deduper();
let enricher = new Enricher();
const path = measure('decode+dedupe+enrich', runs, payloads, (b) => {
  if (calls++ % payloads.length === 0) {
    deduper = new Deduper();
    enricher = new Enricher();
  }
  const r = decodeRawTick(b, DEFAULT_VALIDATION_LIMITS, BENCH_NOW_US);
  if (!r.ok || deduper.seen(r.tick.id, r.tick.ts)) return false;
  enricher.enrich(r.tick, null, BENCH_NOW_US);
  return true;
});

// One committed batch of enriched ticks and their input records.
const out = emptyOutputs();
const batch: { timestamp: string }[] = [];
const batchEnricher = new Enricher();
for (const b of payloads.slice(0, BATCH)) {
  const r = decodeRawTick(b, DEFAULT_VALIDATION_LIMITS, BENCH_NOW_US);
  if (!r.ok) continue;
  out.enriched.push(batchEnricher.enrich(r.tick, null, BENCH_NOW_US) as EnrichedTick);
  batch.push({ timestamp: String(BENCH_NOW_US / 1000 - 5) });
}

/** Median ns per record of `observe` over the batch. */
function perRecord(observe: () => void): number {
  const ns: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) observe();
    if (r > 0) ns.push(Number(process.hrtime.bigint() - t0) / (200 * batch.length));
  }
  ns.sort((a, b) => a - b);
  return ns[Math.floor(ns.length / 2)]!;
}

const metrics = createProcessorMetrics(new Registry());
const lean = perRecord(() => observeCommitted(metrics, batch, out, BENCH_NOW_US + 1000));

// The same observations with prom-client's Histogram in place of the lean one.
const registers = [new Registry()];
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];
const classic = {
  ...createProcessorMetrics(registers[0]),
  processingLatency: new Histogram({ name: 'a', help: 'a', buckets, registers }),
  eventLatency: new Histogram({ name: 'b', help: 'b', buckets, registers }),
} as unknown as ProcessorMetrics;
const promClient = perRecord(() => observeCommitted(classic, batch, out, BENCH_NOW_US + 1000));

const pathNs = 1e9 / path;
const pct = (ns: number) => `${((ns / pathNs) * 100).toFixed(1)} %`;
console.log(`per-record path: ${pathNs.toFixed(0)} ns`);
console.log(`observeCommitted (lean histograms): ${lean.toFixed(0)} ns per record = ${pct(lean)} of the path`);
console.log(`observeCommitted (prom-client Histogram): ${promClient.toFixed(0)} ns per record = ${pct(promClient)}`);
