import { extname } from 'node:path';
import { z } from 'zod';
import { TIMESTAMP_FORMATS } from './timestamps.ts';

/**
 * Replay configuration, declared once. Every column name can be remapped, so a vendor file is replayed without
 * rewriting it: `columns: { symbol: 'ticker', price: 'px', ts: 'time' }`.
 */
const column = (name: string) => z.string().min(1).default(name);

export const replayColumnsSchema = z
  .object({
    symbol: column('symbol'),
    ts: column('ts'),
    /** Used when present in a row; otherwise seq is the row's line number in its file (stable across replays). */
    seq: column('seq'),
    /** Used when present; otherwise see `recvTs`. */
    recvTs: column('recvTs'),
    exchange: column('exchange'),
    /** kind 'mixed' only: "trade"/"quote" (or "t"/"q"), case-insensitive. */
    type: column('type'),
    price: column('price'),
    size: column('size'),
    bid: column('bid'),
    bidSize: column('bidSize'),
    ask: column('ask'),
    askSize: column('askSize'),
    open: column('open'),
    high: column('high'),
    low: column('low'),
    close: column('close'),
    volume: column('volume'),
  })
  .strict()
  .prefault({});

export const REPLAY_FORMATS = ['auto', 'csv', 'ndjson', 'parquet'] as const;
export const REPLAY_KINDS = ['trades', 'quotes', 'bars', 'mixed'] as const;

export const replayOptionsSchema = z
  .object({
    /** Replayed one after another in the given order. */
    files: z.array(z.string().min(1)).min(1),
    /** 'auto' picks by extension: .csv/.tsv, .ndjson/.jsonl/.json, .parquet/.pq. */
    format: z.enum(REPLAY_FORMATS).default('auto'),
    kind: z.enum(REPLAY_KINDS).default('trades'),
    columns: replayColumnsSchema,
    /** 'auto' reads ISO-8601 text as such and guesses the unit of epoch numbers from their magnitude. */
    timestampFormat: z.enum(TIMESTAMP_FORMATS).default('auto'),
    /** Tick `source`; default: the file's base name without extension (so ids differ between files). */
    source: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only (it becomes part of every tick id)')
      .optional(),
    /** ×N the file's event-time gaps; 0 = as fast as the consumer takes batches. */
    speed: z.number().nonnegative().finite().default(0),
    batchSize: z.number().int().min(1).max(100_000).default(500),
    /** Longest wall-clock pause when paced; longer event-time gaps are shortened to this. */
    maxPauseMs: z.number().nonnegative().default(10_000),
    /** Progress line on stderr; 'auto' = only when stderr is a terminal. */
    progress: z.union([z.boolean(), z.literal('auto')]).default('auto'),
    /** recvTs when the file has no recvTs column: 'event' = ts (byte-identical replays), 'wall' = now. */
    recvTs: z.enum(['event', 'wall']).default('event'),
    bars: z
      .object({
        intervalSec: z.number().int().positive().default(60),
        /** Whether a bar's timestamp is its window start or its end. */
        timestamp: z.enum(['start', 'end']).default('start'),
      })
      .strict()
      .prefault({}),
    csv: z
      .object({ delimiter: z.string().length(1).default(',') })
      .strict()
      .prefault({}),
  })
  .strict();

export type ReplayOptionsInput = z.input<typeof replayOptionsSchema>;
export type ReplayOptions = z.output<typeof replayOptionsSchema>;
export type ReplayColumns = ReplayOptions['columns'];
export type FileFormat = Exclude<(typeof REPLAY_FORMATS)[number], 'auto'>;

const BY_EXTENSION: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'ndjson',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

export function formatOf(file: string, format: ReplayOptions['format']): FileFormat | undefined {
  return format === 'auto' ? BY_EXTENSION[extname(file).toLowerCase()] : format;
}

/** The default `source` for a file: its base name, reduced to the characters a tick id part may hold. */
export function sourceNameFor(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const stem = base.replace(/\.[^.]*$/, '');
  const cleaned = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return (cleaned || 'replay').slice(0, 32);
}
