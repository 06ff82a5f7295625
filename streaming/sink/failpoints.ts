/**
 * Crash points for fault-injection tests (like failpoints in databases). `TICKLAKE_FAILPOINT=<point>:<n>` makes the
 * process SIGKILL itself the n-th time it reaches <point>, so a test can prove recovery from a crash at exactly that
 * step. Unset in production: then a failpoint is a comparison. The variable is read here, not through the config
 * schema, on purpose: it is a test hook, and must not be settable from a config file.
 */
export const FAILPOINTS = [
  'before-upload',
  'mid-upload',
  'after-upload',
  'after-manifest',
  'after-offset-commit',
] as const;
/**
 * The Temporal worker's: the steps of a warehouse load (warehouse/warehouse.ts LOAD_FAILPOINTS, prefixed `load-`) and
 * of a compaction (lake/compaction.ts COMPACTION_FAILPOINTS, prefixed `compact-`); infra/temporal/worker.ts arms
 * them, and the compiler keeps the lists equal.
 */
export const WORKER_FAILPOINTS = [
  'load-before-stage',
  'load-after-replace',
  'load-after-ledger',
  'compact-after-fetch',
  'compact-before-commit',
  'compact-after-commit',
] as const;
export type Failpoint = (typeof FAILPOINTS)[number] | (typeof WORKER_FAILPOINTS)[number];

// `<point>:<n>:stall` stops there instead of dying (at the worker's async failpoints): the process keeps running (and heartbeating) until the test, having
// seen what it waits for (say, a heartbeat reaching Temporal), SIGKILLs it itself.
const spec = process.env.TICKLAKE_FAILPOINT?.split(':');
const armed =
  spec && ([...FAILPOINTS, ...WORKER_FAILPOINTS] as readonly string[]).includes(spec[0]!)
    ? { point: spec[0], at: Number(spec[1] ?? 1), stall: spec[2] === 'stall' }
    : undefined;
let hits = 0;

function due(point: Failpoint): boolean {
  return armed !== undefined && armed.point === point && ++hits === armed.at;
}

function die(point: Failpoint): never {
  process.stderr.write(`failpoint ${point}#${hits}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL');
}

export function failpoint(point: Exclude<Failpoint, 'mid-upload'>): void {
  if (due(point)) die(point); // a synchronous caller cannot wait: `:stall` dies here too
}

/** As `failpoint`, or, armed with `:stall`, never resolves (the caller waits there until the process is killed). */
export async function failpointOrStall(point: Exclude<Failpoint, 'mid-upload'>): Promise<void> {
  if (!due(point)) return;
  if (!armed!.stall) die(point);
  process.stderr.write(`failpoint ${point}#${hits}: stalled\n`);
  await new Promise<never>(() => undefined);
}

/**
 * 'mid-upload', deterministically: the first half of the object's bytes is stored under its final key, then the
 * process dies. That is the worst a crash during an upload can leave (S3 keeps no partial PUT; a store without
 * atomic writes might), and unlike a timer racing the request it happens at the same step every run.
 */
export async function failpointMidUpload(put: (partial: Uint8Array) => Promise<void>, body: Uint8Array): Promise<void> {
  if (!due('mid-upload')) return;
  await put(body.subarray(0, Math.floor(body.length / 2)));
  die('mid-upload');
}
