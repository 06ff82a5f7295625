import { z } from 'zod';
import { symbolSchema } from '../../../core/schemas/tick.ts';

/**
 * Option blocks every feed shares. Each vendor's schema (in its own file) extends these with its url default and
 * the channels it offers. Durations are milliseconds.
 */
export const backoffSchema = z
  .object({
    /** Delay before the first reconnect. */
    initialMs: z.number().int().positive().default(500),
    /** Upper bound of any single delay. */
    maxMs: z.number().int().positive().default(30_000),
    multiplier: z.number().min(1).default(2),
    /** Fraction of each delay drawn at random (0 = none, 1 = "full jitter"), so many clients don't reconnect in step. */
    jitter: z.number().min(0).max(1).default(0.3),
    /** A connection that stayed ready this long resets the delay to initialMs. */
    resetAfterMs: z.number().int().nonnegative().default(30_000),
    /** Consecutive failed connections before the source gives up (0 = never give up: a live feed keeps trying). */
    maxAttempts: z.number().int().nonnegative().default(0),
  })
  .refine((b) => b.maxMs >= b.initialMs, { message: 'backoff.maxMs must be >= backoff.initialMs', path: ['maxMs'] });

export type BackoffOptions = z.infer<typeof backoffSchema>;

export const heartbeatSchema = z.object({
  /** How often the client sends a WebSocket ping (any compliant server answers with a pong). */
  pingIntervalMs: z.number().int().positive().default(15_000),
  /** No frame, ping or pong for this long = the connection is dead: terminate and reconnect. */
  timeoutMs: z.number().int().positive().default(45_000),
});

/** A list that also accepts "A,B,C" (command-line and environment input). */
export function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  );
}

export const commonOptionsShape = {
  symbols: listOf(symbolSchema).refine((l) => l.length > 0, 'at least one symbol'),
  backoff: backoffSchema.prefault({}),
  heartbeat: heartbeatSchema.prefault({}),
  /** WebSocket opening handshake (TCP + TLS + HTTP upgrade) deadline. */
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** From open until auth + subscription are acknowledged. */
  readyTimeoutMs: z.number().int().positive().default(15_000),
  /** No tick on a ready connection for this long is reported once as a silence gap (0 = off). */
  silenceGapMs: z.number().int().nonnegative().default(0),
  /** Records buffered before the socket is paused (TCP backpressure towards the vendor). */
  maxBuffered: z.number().int().positive().default(50_000),
  /** Largest batch handed to the consumer. */
  maxBatch: z.number().int().positive().default(1_000),
  /** Wait this long for the server's close frame on shutdown before dropping the socket. */
  closeTimeoutMs: z.number().int().positive().default(2_000),
};

export const channelSchema = z.enum(['trades', 'quotes']);
/** The channels option: a non-empty list of channels, trades and quotes by default. */
export const channelsSchema = listOf(channelSchema)
  .refine((l) => l.length > 0, 'at least one channel')
  .default(['trades', 'quotes']);
export type Channel = z.infer<typeof channelSchema>;

/** The bit of every vendor's parsed options the shared client reads. */
export interface ClientOptions {
  backoff: BackoffOptions;
  heartbeat: z.infer<typeof heartbeatSchema>;
  connectTimeoutMs: number;
  readyTimeoutMs: number;
  silenceGapMs: number;
  maxBuffered: number;
  maxBatch: number;
  closeTimeoutMs: number;
}

/**
 * The delay before reconnect attempt `attempt` (1-based): initialMs * multiplier^(attempt-1), capped at maxMs,
 * of which the `jitter` fraction is random. Always within [capped * (1 - jitter), capped].
 */
export function backoffDelay(attempt: number, b: BackoffOptions, random: () => number = Math.random): number {
  const exp = b.initialMs * b.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(b.maxMs, exp);
  return Math.round(capped * (1 - b.jitter * random()));
}
