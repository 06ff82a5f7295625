/**
 * Heartbeats are `ticks.raw` records with key `__heartbeat__`, sent by ingest to every partition. They carry the
 * stream's event time so that a partition without ticks still advances its watermark and closes its bars, and
 * being records in the log they replay identically on recovery.
 */
export const HEARTBEAT_KEY = '__heartbeat__';

export interface Heartbeat {
  v: 1;
  type: 'heartbeat';
  source: string;
  ts: number;
}

export function heartbeatValue(source: string, ts: number): string {
  return JSON.stringify({ v: 1, type: 'heartbeat', source, ts } satisfies Heartbeat);
}

/** The heartbeat's event time, or undefined if the value isn't a well-formed heartbeat. */
export function parseHeartbeat(value: Buffer | null): number | undefined {
  if (!value || value.length > 512) return undefined;
  try {
    const hb = JSON.parse(value.toString('utf8')) as Partial<Heartbeat>;
    return hb.type === 'heartbeat' && Number.isSafeInteger(hb.ts) ? hb.ts : undefined;
  } catch {
    return undefined;
  }
}
