import { z } from 'zod';

/**
 * Market ticks as they travel through `ticks.raw`: JSON, one tick per Kafka record, key = symbol.
 *
 * Times are integer microseconds since the Unix epoch, UTC (`ts` = event time at the source, `recvTs` = when
 * ticklake received it). Today's epoch in µs is ~1.8e15, well inside Number.MAX_SAFE_INTEGER (9.0e15), so plain
 * JSON numbers carry them exactly. Prices are IEEE-754 doubles in the instrument's currency (see docs/SCHEMAS.md).
 *
 * `id` is derived from (source, symbol, seq) by tickId(): the dedupe key in the stream and in compaction.
 */
export const TICK_SCHEMA_VERSION = 1 as const;

/** 2000-01-01 .. 2100-01-01 in µs: anything outside is a unit mistake (ms or ns), not a real time. */
export const MIN_EVENT_TIME_US = 946_684_800_000_000;
export const MAX_EVENT_TIME_US = 4_102_444_800_000_000;

/** Event and wall times: integer µs since the epoch, 2000..2100 (shared by every message schema). */
export const timeUs = z
  .number()
  .int('must be an integer number of microseconds')
  .min(MIN_EVENT_TIME_US, 'must be µs since epoch after 2000-01-01 (is it ms or ns?)')
  .max(MAX_EVENT_TIME_US, 'must be µs since epoch before 2100-01-01 (is it ns?)');
const positive = z.number().finite().positive();
const nonNegative = z.number().finite().nonnegative();

export const symbolSchema = z
  .string()
  .min(1, 'symbol is empty')
  .max(32)
  .regex(/^[A-Z0-9][A-Z0-9.\-/:_]*$/, 'symbol must be upper-case letters, digits and . - / : _');

const tickBase = {
  v: z.literal(TICK_SCHEMA_VERSION),
  id: z.string().min(1).max(160),
  source: z.string().min(1).max(32),
  symbol: symbolSchema,
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  ts: timeUs,
  recvTs: timeUs,
  exchange: z.string().max(16).optional(),
  conditions: z.array(z.string().max(8)).max(8).optional(),
};

export const tradeTickSchema = z.object({
  ...tickBase,
  type: z.literal('trade'),
  price: positive,
  size: positive,
});

export const quoteTickSchema = z
  .object({
    ...tickBase,
    type: z.literal('quote'),
    bid: positive,
    bidSize: nonNegative,
    ask: positive,
    askSize: nonNegative,
  })
  .refine((q) => q.ask >= q.bid, { message: 'crossed quote: ask < bid', path: ['ask'] });

export const tickSchema = z.discriminatedUnion('type', [tradeTickSchema, quoteTickSchema]);

export type TradeTick = z.infer<typeof tradeTickSchema>;
export type QuoteTick = z.infer<typeof quoteTickSchema>;
export type Tick = TradeTick | QuoteTick;

/** The dedupe key: the same (source, symbol, seq) is the same event, however many times it is delivered. */
export function tickId(source: string, symbol: string, seq: number): string {
  return `${source}:${symbol}:${seq}`;
}

/** Current wall time in µs; the one place that converts ms to µs. */
export function nowUs(): number {
  return Date.now() * 1000;
}
