/**
 * The lake's event-time partition of a time, `dt=YYYY-MM-DD/hour=HH` (UTC). Declared here so the pure core (the
 * reconciliation reports per partition) and the lake (lake/layout.ts re-exports it) name partitions one way.
 */
export const HOUR_US = 3_600_000_000;

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** `dt=YYYY-MM-DD/hour=HH` of an event time in µs. */
export function partitionOf(tsUs: number): string {
  const d = new Date(Math.floor(tsUs / 1000));
  return `dt=${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}/hour=${pad(d.getUTCHours(), 2)}`;
}
