import type { Clock } from '../../../../../streaming/sources/pacing.ts';

/** A virtual clock: sleep() advances time instantly and records how long was asked for. */
export class FakeClock implements Clock {
  nowMs = 1_000;
  readonly sleeps: number[] = [];

  now(): number {
    return this.nowMs;
  }

  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.sleeps.push(ms);
    this.nowMs += ms;
  }
}
