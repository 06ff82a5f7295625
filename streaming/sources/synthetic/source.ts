import { type FileHandle, open } from 'node:fs/promises';
import { TickLakeError } from '../../../core/errors.ts';
import { loadShippedReference } from '../../../infra/reference-file.ts';
import type { ReferenceSymbol } from '../../../core/schemas/reference.ts';
import type { SourceProgress, SourceRecord, SourceStats, TickSource } from '../source.ts';
import { type Clock, type Timed, pacedBatches, systemClock } from '../pacing.ts';
import { isoToUs } from '../replay/timestamps.ts';
import { SyntheticGenerator } from './generator.ts';
import type { SyntheticLabel } from '../../../core/schemas/labels.ts';
import { type SyntheticOptions, type SyntheticOptionsInput, syntheticOptionsSchema } from './options.ts';
import { SessionCalendar } from './session.ts';
import { loadReferenceFile, syntheticUniverse } from './universe.ts';

/**
 * The synthetic market as a TickSource. The generator (generator.ts) is pure; this edge adds pacing against the wall
 * clock, batching, and the labels file.
 */
export interface SyntheticSource extends TickSource {
  /** The instruments ticking, for the reference topic. */
  readonly universe: readonly ReferenceSymbol[];
  /** Resolved start (µs), so a run with a default start can be reproduced by passing it back. */
  readonly startUs: number;
  /** Every label so far, in emission order (same content as the labels file). */
  labels(): readonly SyntheticLabel[];
}

export interface SyntheticDeps {
  clock?: Clock;
  /** Wall time in ms, for the default start and 'now'. */
  nowMs?: () => number;
}

export function parseSyntheticOptions(input: SyntheticOptionsInput): SyntheticOptions {
  const parsed = syntheticOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new TickLakeError('CONFIG_INVALID', `synthetic options: ${issues}`);
  }
  return parsed.data;
}

export function resolveStartUs(opts: SyntheticOptions, nowMs: number): number {
  const start = opts.start;
  if (typeof start === 'number') return start;
  if (start === 'now') return Math.floor(nowMs) * 1000;
  if (start !== undefined) {
    const r = isoToUs(start);
    if (!r.ok) throw new TickLakeError('CONFIG_INVALID', `synthetic options: start: ${r.error}`);
    return r.us;
  }
  return new SessionCalendar(opts.utcOffsetMinutes).todaysOpenUs(nowMs);
}

function referenceRows(opts: SyntheticOptions): ReferenceSymbol[] {
  if (opts.referenceFile === null) return [];
  return opts.referenceFile === undefined ? loadShippedReference() : loadReferenceFile(opts.referenceFile);
}

export function createSyntheticSource(input: SyntheticOptionsInput, deps: SyntheticDeps = {}): SyntheticSource {
  const opts = parseSyntheticOptions(input);
  const universe = syntheticUniverse(opts.symbols, opts.seed, referenceRows(opts));
  const startUs = resolveStartUs(opts, (deps.nowMs ?? Date.now)());
  const clock = deps.clock ?? systemClock;
  // 'now' means event time is the wall clock: pace from this moment, not from when the first batch is pulled.
  const anchor = opts.start === 'now' ? { evUs: startUs, wallMs: clock.now() } : undefined;
  const gen = new SyntheticGenerator(opts, universe, startUs);
  const closing = new AbortController();
  let emitted = 0;
  let labelsWritten = 0;
  let labelsFile: Promise<FileHandle> | undefined;
  let closed = false;

  // Opened once (truncating), on the first batches() call; writes are unbuffered, so the file is current after
  // every batch even if close() is never called.
  async function writeLabels(): Promise<void> {
    if (opts.labelsFile === undefined || closed || labelsWritten === gen.labels.length) return;
    labelsFile ??= open(opts.labelsFile, 'w');
    const lines = gen.labels.slice(labelsWritten).map((l) => JSON.stringify(l) + '\n');
    labelsWritten = gen.labels.length;
    await (await labelsFile).write(lines.join(''));
  }

  // Paced: one record per chunk, since the generator's clock decides when each is due.
  function* timed(): Generator<Timed[]> {
    for (let r = gen.next(); r !== undefined; r = gen.next()) yield [{ record: r, ts: gen.lastTs }];
  }

  async function* unpaced(stop: AbortSignal): AsyncGenerator<SourceRecord[]> {
    while (!stop.aborted && !gen.finished) {
      const batch: SourceRecord[] = [];
      for (let r: SourceRecord | undefined; batch.length < opts.batchSize && (r = gen.next()) !== undefined;) {
        batch.push(r);
      }
      if (batch.length === 0) return;
      yield batch;
    }
  }

  return {
    name: opts.source,
    universe,
    startUs,
    labels: () => gen.labels,
    async *batches(signal: AbortSignal): AsyncIterable<SourceRecord[]> {
      const stop = AbortSignal.any([signal, closing.signal]);
      if (opts.labelsFile !== undefined && !closed) labelsFile ??= open(opts.labelsFile, 'w');
      const batches =
        opts.speed === 0 ? unpaced(stop) : pacedBatches(timed(), { ...opts, signal: stop, clock, anchor });
      for await (const batch of batches) {
        await writeLabels();
        emitted += batch.length;
        yield batch;
        if (stop.aborted) break;
      }
      await writeLabels();
    },
    progress(): SourceProgress | undefined {
      if (opts.maxTicks !== undefined) return { done: emitted, unit: 'ticks', total: opts.maxTicks };
      if (opts.durationSec === undefined) return undefined;
      const fraction = emitted === 0 ? 0 : Math.min(1, Math.max(0, (gen.lastTs - startUs) / (opts.durationSec * 1e6)));
      return { done: emitted, unit: 'ticks', fraction: gen.finished ? 1 : fraction };
    },
    stats(): SourceStats {
      return { emitted, counters: { ...gen.counters, labels: gen.labels.length } };
    },
    async close(): Promise<void> {
      if (closed) return;
      closing.abort();
      await writeLabels();
      closed = true;
      if (labelsFile !== undefined) await (await labelsFile).close();
    },
  };
}
