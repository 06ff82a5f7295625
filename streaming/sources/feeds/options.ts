import { z } from 'zod';
import { backoffSchema, type BackoffOptions } from '../../../core/retry.ts';
import { listOf } from '../../../core/schemas/list.ts';
import { symbolSchema } from '../../../core/schemas/tick.ts';

// Re-exported: the vendors' option files take the shared blocks from here.
export { backoffSchema, listOf };

/**
 * Option blocks every feed shares. Each vendor's schema (in its own file) extends these with its url default and
 * the channels it offers. Durations are milliseconds.
 */
export const heartbeatSchema = z.object({
  /** How often the client sends a WebSocket ping (any compliant server answers with a pong). */
  pingIntervalMs: z.number().int().positive().default(15_000),
  /** No frame, ping or pong for this long = the connection is dead: terminate and reconnect. */
  timeoutMs: z.number().int().positive().default(45_000),
});

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
