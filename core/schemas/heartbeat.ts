import { z } from 'zod';
import { timeUs } from './tick.ts';

/**
 * Heartbeats are `ticks.raw` records with key `__heartbeat__`, sent by ingest to every partition. They carry the
 * stream's event time so that a partition without ticks still advances its watermark and closes its bars, and
 * being records in the log they replay identically on recovery. Never output; the raw lake table skips them.
 */
export const HEARTBEAT_KEY = '__heartbeat__';
export const HEARTBEAT_SCHEMA_VERSION = 1 as const;

export const heartbeatSchema = z.object({
  v: z.literal(HEARTBEAT_SCHEMA_VERSION),
  type: z.literal('heartbeat'),
  source: z.string().min(1).max(32),
  /** The event time the source has reached, µs. */
  ts: timeUs,
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export function heartbeatValue(source: string, ts: number): string {
  return JSON.stringify(
    heartbeatSchema.parse({ v: HEARTBEAT_SCHEMA_VERSION, type: 'heartbeat', source, ts } satisfies Heartbeat),
  );
}

/** The heartbeat's event time, or undefined if the value isn't a well-formed heartbeat (about one a second). */
export function parseHeartbeat(value: Buffer | null): number | undefined {
  return decodeHeartbeat(value)?.ts;
}

/** The whole heartbeat (source and event time), for consumers that judge sources (the stale-feed rule). */
export function decodeHeartbeat(value: Buffer | null): Heartbeat | undefined {
  if (!value || value.length > 512) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const hb = heartbeatSchema.safeParse(raw);
  return hb.success ? hb.data : undefined;
}
