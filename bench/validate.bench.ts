/**
 * Throughput of decodeRawTick on realistic `ticks.raw` values (see tick-payloads.ts), against two baselines
 * measured in the same run: JSON.parse alone (the floor) and JSON.parse + zod tickSchema.safeParse (what the
 * hand-written validator replaces).
 *
 *   node --import tsx bench/validate.bench.ts [records] [runs]
 */
import { cpus } from 'node:os';
import { tickSchema } from '../core/schemas/tick.ts';
import { DEFAULT_VALIDATION_LIMITS, decodeRawTick } from '../core/validate.ts';
import { BENCH_NOW_US, makePayloads, measure } from './tick-payloads.ts';

const records = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 7);

function parse(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return null;
  }
}

const payloads = makePayloads(records);
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${records} records, median of ${runs} runs`,
);
const parseOnly = measure('JSON.parse only', runs, payloads, (b) => parse(b) !== null);
const zod = measure('JSON.parse + zod safeParse', runs, payloads, (b) => tickSchema.safeParse(parse(b)).success);
const ours = measure(
  'decodeRawTick',
  runs,
  payloads,
  (b) => decodeRawTick(b, DEFAULT_VALIDATION_LIMITS, BENCH_NOW_US).ok,
);
console.log(
  `decodeRawTick / JSON.parse: ${(ours / parseOnly).toFixed(2)}  decodeRawTick / zod: ${(ours / zod).toFixed(2)}`,
);
