import type { SourceRecord } from './source.ts';

/**
 * Event-time pacing shared by the replay and synthetic sources: at speed N, a record whose event time is Δ after the
 * first record's is released Δ/N of wall time after the first was. Pacing is anchored (not per-gap), so time spent
 * by a slow consumer is caught up instead of accumulating as drift. A gap longer than `maxPauseMs` of wall time (a
 * night between sessions, a hole in a file) is shortened to `maxPauseMs` by moving the anchor.
 */

export interface Clock {
  /** Monotonic wall time in ms. */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
};

/**
 * Event time `evUs` is due at wall time `wallMs` (the clock's ms). Without one, the first record anchors the pacing
 * when it is released; a source whose event time is the wall clock ('now') anchors at its creation instead, so the
 * time it spends before its first record (connecting, publishing reference data) is caught up, not carried as a
 * constant lag behind the wall clock by every later record.
 */
export interface PaceAnchor {
  evUs: number;
  wallMs: number;
}

export class Pacer {
  private anchorEvUs = 0;
  private anchorWallMs = 0;
  private highWaterUs = Number.NEGATIVE_INFINITY;
  private started = false;

  constructor(
    private readonly speed: number,
    private readonly clock: Clock,
    private readonly maxPauseMs: number,
    anchor?: PaceAnchor,
  ) {
    if (!(speed > 0)) throw new RangeError('Pacer needs speed > 0; speed 0 means unpaced');
    if (anchor) {
      this.started = true;
      this.anchorEvUs = this.highWaterUs = anchor.evUs;
      this.anchorWallMs = anchor.wallMs;
    }
  }

  /**
   * Milliseconds to wait before releasing a record with event time `tsUs`. Records behind the high-water mark
   * (out of order, late) are due immediately: their original position in time has already passed.
   */
  delayMs(tsUs: number): number {
    const now = this.clock.now();
    if (!this.started) {
      this.started = true;
      this.anchorEvUs = tsUs;
      this.anchorWallMs = now;
      this.highWaterUs = tsUs;
      return 0;
    }
    if (tsUs > this.highWaterUs) this.highWaterUs = tsUs;
    const due = this.anchorWallMs + (this.highWaterUs - this.anchorEvUs) / 1000 / this.speed;
    if (due - now > this.maxPauseMs) {
      this.anchorEvUs = this.highWaterUs;
      this.anchorWallMs = now + this.maxPauseMs;
      return this.maxPauseMs;
    }
    return due > now ? due - now : 0;
  }
}

export interface Timed {
  record: SourceRecord;
  /** Event time in µs used for pacing; NaN for records without a readable time (released immediately). */
  ts: number;
}

export interface PacedBatchOptions {
  batchSize: number;
  /** ×N real time; 0 = as fast as the consumer takes batches. */
  speed: number;
  maxPauseMs: number;
  signal: AbortSignal;
  clock?: Clock;
  anchor?: PaceAnchor;
}

/**
 * Groups timed records, given in chunks of any size, into batches of at most `batchSize`. When paced, a batch is cut early rather than held back:
 * everything already due goes out before the source sleeps until the next record is due. Waits under 1 ms are not
 * slept (timers cannot honour them), so dense streams form full batches.
 */
export async function* pacedBatches(
  chunks: AsyncIterable<readonly Timed[]> | Iterable<readonly Timed[]>,
  opts: PacedBatchOptions,
): AsyncGenerator<SourceRecord[]> {
  const clock = opts.clock ?? systemClock;
  const pacer = opts.speed > 0 ? new Pacer(opts.speed, clock, opts.maxPauseMs, opts.anchor) : null;
  let batch: SourceRecord[] = [];
  for await (const chunk of chunks) {
    for (const item of chunk) {
      if (opts.signal.aborted) return;
      if (pacer !== null && Number.isFinite(item.ts)) {
        const wait = pacer.delayMs(item.ts);
        if (wait >= 1) {
          if (batch.length > 0) {
            yield batch;
            batch = [];
          }
          await clock.sleep(wait, opts.signal);
          if (opts.signal.aborted) return;
        }
      }
      batch.push(item.record);
      if (batch.length >= opts.batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0 && !opts.signal.aborted) yield batch;
}
