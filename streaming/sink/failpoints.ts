/**
 * Crash points for fault-injection tests (like failpoints in databases). `TICKLAKE_FAILPOINT=<point>:<n>` makes the
 * process SIGKILL itself the n-th time it reaches <point>, so a test can prove recovery from a crash at exactly that
 * step. Unset in production: then `failpoint()` is a counter increment and a comparison.
 */
export const FAILPOINTS = [
  'before-upload',
  'mid-upload',
  'after-upload',
  'after-manifest',
  'after-offset-commit',
] as const;
/**
 * The Temporal worker's: the steps of a warehouse load (warehouse/warehouse.ts LOAD_FAILPOINTS, prefixed `load-`;
 * infra/temporal/worker.ts arms them, and the compiler keeps the two lists equal).
 */
export const WORKER_FAILPOINTS = ['load-before-stage', 'load-after-replace', 'load-after-ledger'] as const;
export type Failpoint = (typeof FAILPOINTS)[number] | (typeof WORKER_FAILPOINTS)[number];

const spec = process.env.TICKLAKE_FAILPOINT?.split(':');
const armed =
  spec && ([...FAILPOINTS, ...WORKER_FAILPOINTS] as readonly string[]).includes(spec[0]!)
    ? { point: spec[0], at: Number(spec[1] ?? 1) }
    : undefined;
let hits = 0;

export function failpoint(point: Failpoint): void {
  if (!armed || armed.point !== point || ++hits !== armed.at) return;
  process.stderr.write(`failpoint ${point}#${hits}: SIGKILL\n`);
  if (point === 'mid-upload') {
    // Let the upload start, then die while bytes are in flight.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2).unref();
    return;
  }
  process.kill(process.pid, 'SIGKILL');
}
