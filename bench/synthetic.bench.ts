/**
 * Synthetic market throughput at speed 0 (no pacing): median of `runs` runs of `ticks` ticks, for
 *   1. generation only (market model + faults planner, ticks built but not serialised),
 *   2. JSON serialisation only (JSON.stringify of the same tick objects, the baseline),
 *   3. the whole source (generation + serialisation + batching through the async iterator),
 * and the same end-to-end run with 5,000 symbols and all anomalies on at low rates.
 *
 *   node --import tsx bench/synthetic.bench.ts [ticks] [runs]
 */
import { cpus } from 'node:os';
import type { Tick } from '../core/schemas/tick.ts';
import { SyntheticGenerator } from '../streaming/sources/synthetic/generator.ts';
import type { SyntheticOptionsInput } from '../streaming/sources/synthetic/options.ts';
import { createSyntheticSource, parseSyntheticOptions, resolveStartUs } from '../streaming/sources/synthetic/source.ts';
import { syntheticUniverse } from '../streaming/sources/synthetic/universe.ts';
import { median } from './support.ts';

const ticks = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 5);
const START = '2024-03-04T14:30:00Z';

function timeIt(fn: () => number | Promise<number>): Promise<{ ms: number; n: number }> {
  return (async () => {
    const t0 = performance.now();
    const n = await fn();
    return { ms: performance.now() - t0, n };
  })();
}

async function report(label: string, fn: () => number | Promise<number>): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { ms, n } = await timeIt(fn);
    rates.push(n / (ms / 1000));
  }
  const m = median(rates);
  console.log(`${label.padEnd(48)} ${Math.round(m).toLocaleString('en-US').padStart(12)} ticks/s`);
  return m;
}

function generator(input: SyntheticOptionsInput, serialize: (t: Tick) => string): SyntheticGenerator {
  const opts = parseSyntheticOptions(input);
  const universe = syntheticUniverse(opts.symbols, opts.seed);
  return new SyntheticGenerator(opts, universe, resolveStartUs(opts, Date.now()), serialize);
}

async function endToEnd(input: SyntheticOptionsInput): Promise<number> {
  const src = createSyntheticSource(input);
  let n = 0;
  for await (const batch of src.batches(new AbortController().signal)) n += batch.length;
  await src.close();
  return n;
}

const base: SyntheticOptionsInput = { seed: 1, speed: 0, maxTicks: ticks, start: START, batchSize: 1000 };
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}, ${ticks} ticks, median of ${runs} runs`);

const genOnly = await report('generation only (50 symbols)', () => {
  const g = generator(base, () => '');
  let n = 0;
  while (g.next() !== undefined) n++;
  return n;
});

// The same tick objects, kept (a bounded sample, re-serialised to reach `ticks`) and serialised on their own.
const sample: Tick[] = [];
const keep = generator({ ...base, maxTicks: Math.min(ticks, 200_000) }, (t) => (sample.push(t), ''));
while (keep.next() !== undefined);
const json = await report('JSON.stringify only (baseline)', () => {
  let bytes = 0;
  for (let i = 0; i < ticks; i++) bytes += JSON.stringify(sample[i % sample.length]).length;
  return bytes > 0 ? ticks : 0;
});

const full = await report('source end to end (50 symbols)', () => endToEnd(base));
const wide = await report('source end to end (5,000 symbols, anomalies)', () =>
  endToEnd({
    ...base,
    symbols: 5000,
    anomalies: {
      priceJump: { rate: 1e-4 },
      volumeSpike: { rate: 1e-4 },
      spreadBlowout: { rate: 1e-4 },
      staleFeed: { rate: 1e-5 },
      duplicate: { rate: 1e-4 },
      outOfOrder: { rate: 1e-4 },
      late: { rate: 1e-4 },
      malformed: { rate: 1e-4, variants: ['invalid_json', 'nan_price', 'negative_price', 'missing_fields'] },
    },
  }),
);

console.log(
  `per tick: generation ${(1e6 / genOnly).toFixed(2)} µs, JSON ${(1e6 / json).toFixed(2)} µs, ` +
    `end to end ${(1e6 / full).toFixed(2)} µs (${(full / json).toFixed(2)}× the JSON-only rate); ` +
    `5,000 symbols + anomalies ${(wide / full).toFixed(2)}× the 50-symbol rate`,
);
