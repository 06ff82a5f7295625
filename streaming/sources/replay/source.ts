import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { TickLakeError } from '../../../core/errors.ts';
import type { SourceProgress, SourceRecord, SourceStats, TickSource } from '../source.ts';
import {
  type ReplayOptions,
  type ReplayOptionsInput,
  formatOf,
  replayOptionsSchema,
  sourceNameFor,
} from './options.ts';
import { type Clock, type Timed, pacedBatches } from '../pacing.ts';
import { parquetReader } from './parquet.ts';
import { ProgressLine } from './progress.ts';
import { type FileReader, csvReader, ndjsonReader } from './readers.ts';
import { rawRecord, rowToRecords } from './rows.ts';

/**
 * Replays historical files (CSV, NDJSON, Parquet) as tick records for `ticks.raw`, in file order. Rows are never
 * dropped: a row that does not convert becomes a record the processor dead-letters (see rows.ts), and the counters
 * say how many there were.
 */
export interface ReplayDeps {
  clock?: Clock;
  /** Where the progress line goes (default: stderr). */
  writeProgress?: (text: string) => void;
}

export function parseReplayOptions(input: ReplayOptionsInput): ReplayOptions {
  const parsed = replayOptionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new TickLakeError(
      'CONFIG_INVALID',
      `replay options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const opts = parsed.data;
  for (const file of opts.files) {
    if (!existsSync(file)) throw new TickLakeError('CONFIG_INVALID', `replay file not found: ${file}`);
    if (formatOf(file, opts.format) === undefined) {
      throw new TickLakeError('CONFIG_INVALID', `cannot tell the format of ${file} from its extension; set format`);
    }
  }
  return opts;
}

function wantedColumns(opts: ReplayOptions): string[] {
  const c = opts.columns;
  const common = [c.symbol, c.ts, c.seq, c.recvTs, c.exchange];
  const byKind = {
    trades: [c.price, c.size],
    quotes: [c.bid, c.bidSize, c.ask, c.askSize],
    mixed: [c.type, c.price, c.size, c.bid, c.bidSize, c.ask, c.askSize],
    bars: [c.open, c.high, c.low, c.close, c.volume],
  }[opts.kind];
  return [...common, ...byKind];
}

export function createReplaySource(input: ReplayOptionsInput, deps: ReplayDeps = {}): TickSource {
  const opts = parseReplayOptions(input);
  const counters: Record<string, number> = { rows: 0, malformedRows: 0, unparseableRows: 0, emptyBars: 0, files: 0 };
  let emitted = 0;
  const closing = new AbortController();
  const showProgress = opts.progress === 'auto' ? process.stderr.isTTY === true : opts.progress;
  const progress = showProgress ? new ProgressLine(deps.writeProgress ?? ((t) => process.stderr.write(t))) : null;

  async function openReader(file: string): Promise<FileReader> {
    const format = formatOf(file, opts.format);
    if (format === 'csv') return csvReader(file, opts.csv.delimiter);
    if (format === 'ndjson') return ndjsonReader(file);
    return parquetReader(file, wantedColumns(opts));
  }

  let current: { fileIndex: number; file: string; reader: FileReader } | undefined;

  async function* timedChunks(signal: AbortSignal): AsyncGenerator<Timed[]> {
    for (const [fileIndex, file] of opts.files.entries()) {
      const reader = await openReader(file);
      current = { fileIndex, file: basename(file), reader };
      const ctx = { source: opts.source ?? sourceNameFor(file), file: basename(file), line: 0 };
      const state = () => ({
        fileIndex,
        fileCount: opts.files.length,
        file: ctx.file,
        rows: counters.rows ?? 0,
        position: reader.position(),
        total: reader.total,
      });
      for await (const rows of reader.chunks(signal)) {
        const timed: Timed[] = [];
        for (const row of rows) {
          counters.rows = (counters.rows ?? 0) + 1;
          if (row.kind === 'raw') {
            counters.unparseableRows = (counters.unparseableRows ?? 0) + 1;
            counters.malformedRows = (counters.malformedRows ?? 0) + 1;
            timed.push(rawRecord(row.raw));
          } else {
            ctx.line = row.line;
            const out = rowToRecords(row.cells, ctx, opts);
            if (out.malformed) counters.malformedRows = (counters.malformedRows ?? 0) + 1;
            if (out.skippedBar) counters.emptyBars = (counters.emptyBars ?? 0) + 1;
            for (const t of out.records) timed.push(t);
          }
        }
        yield timed;
        progress?.update(state());
      }
      counters.files = (counters.files ?? 0) + 1;
      if (fileIndex === opts.files.length - 1) progress?.finish(state());
    }
  }

  return {
    name: opts.source ?? 'replay',
    async *batches(signal: AbortSignal): AsyncIterable<SourceRecord[]> {
      const stop = AbortSignal.any([signal, closing.signal]);
      // batchSize, speed and maxPauseMs are the options' own.
      const batches = pacedBatches(timedChunks(stop), { ...opts, signal: stop, clock: deps.clock });
      for await (const batch of batches) {
        emitted += batch.length;
        yield batch;
        if (stop.aborted) return;
      }
    },
    progress(): SourceProgress {
      const n = opts.files.length;
      const c = current;
      if (!c) return { done: 0, unit: 'rows', fraction: 0 };
      // Each file is an equal share: its own units (bytes, or rows for Parquet) say how far into it we are.
      const within = c.reader.total > 0 ? Math.min(1, c.reader.position() / c.reader.total) : 1;
      const finished = (counters.files ?? 0) >= n;
      return {
        done: counters.rows ?? 0,
        unit: 'rows',
        fraction: finished ? 1 : (c.fileIndex + within) / n,
        detail: `file ${c.fileIndex + 1}/${n} ${c.file}`,
      };
    },
    stats(): SourceStats {
      return { emitted, counters: { ...counters } };
    },
    async close(): Promise<void> {
      closing.abort();
    },
  };
}
