/**
 * Throughput of the whole pure per-record path of the stream processor — decode, dedupe, enrich, bars — on one
 * core, against decodeRawTick alone measured in the same run (the baseline).
 *
 *   node --import tsx bench/core-pipeline.bench.ts [records] [runs]
 */
import { cpus } from 'node:os';
import { BarAggregator } from '../core/bars.ts';
import { Deduper } from '../core/dedupe.ts';
import { Enricher } from '../core/enrich.ts';
import { DEFAULT_VALIDATION_LIMITS, decodeRawTick } from '../core/validate.ts';
import { BENCH_NOW_US, makePayloads, measure } from './tick-payloads.ts';

const records = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 7);
const payloads = makePayloads(records);
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${records} records, median of ${runs} runs`,
);

const decode = measure(
  'decodeRawTick',
  runs,
  payloads,
  (b) => decodeRawTick(b, DEFAULT_VALIDATION_LIMITS, BENCH_NOW_US).ok,
);

// Fresh state at the start of every pass, so each pass sees the ids as new (not as duplicates of the last pass).
let calls = 0;
let passes = 0;
let deduper = new Deduper();
let enricher = new Enricher();
let bars = new BarAggregator();
let emitted = 0;
const full = measure('decode+dedupe+enrich+bars', runs, payloads, (b) => {
  if (calls++ % payloads.length === 0) {
    passes++;
    emitted = 0;
    deduper = new Deduper();
    enricher = new Enricher();
    bars = new BarAggregator();
  }
  const r = decodeRawTick(b, DEFAULT_VALIDATION_LIMITS, BENCH_NOW_US);
  if (!r.ok || deduper.seen(r.tick.id, r.tick.ts)) return false;
  enricher.enrich(r.tick, null, BENCH_NOW_US);
  emitted += bars.add(r.tick).length;
  return true;
});
console.log(
  `full path / decode only: ${(full / decode).toFixed(2)}  (${passes} passes, ${emitted} bar events per pass)`,
);
