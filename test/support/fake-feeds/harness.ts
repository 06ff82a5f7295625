import { createLogger, type Logger } from '../../../infra/logger.ts';
import type { Tick } from '../../../core/schemas/tick.ts';
import type { SourceRecord, TickSource } from '../../../streaming/sources/source.ts';

/** Test-side helpers for driving a feed source against a fake vendor. */

/** Fast timings so reconnect and heartbeat behaviour shows within a few hundred ms. */
export const FAST = {
  heartbeat: { pingIntervalMs: 40, timeoutMs: 250 },
  backoff: { initialMs: 80, maxMs: 400, multiplier: 2, jitter: 0.25, resetAfterMs: 60_000 },
  connectTimeoutMs: 2_000,
  readyTimeoutMs: 2_000,
  closeTimeoutMs: 500,
};

/** A debug-level logger whose JSON lines are kept for assertions (never printed). */
export function captureLogger(): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  return { logger: createLogger({}, 'debug', (l) => lines.push(l)), lines, text: () => lines.join('\n') };
}

/** Iterates a source in the background, keeping every record, until stop() or the source ends. */
export class Consumer {
  readonly records: SourceRecord[] = [];
  readonly batchSizes: number[] = [];
  error: unknown;
  private readonly controller = new AbortController();
  readonly done: Promise<void>;

  constructor(readonly source: TickSource) {
    this.done = (async () => {
      try {
        for await (const batch of source.batches(this.controller.signal)) {
          this.batchSizes.push(batch.length);
          this.records.push(...batch);
        }
      } catch (err) {
        this.error = err;
      }
    })();
  }

  ticks(): Tick[] {
    return this.records.filter((r) => typeof r.value === 'string').map((r) => JSON.parse(r.value as string) as Tick);
  }

  /** Records whose value is raw bytes: the malformed pass-through. */
  malformed(): SourceRecord[] {
    return this.records.filter((r) => Buffer.isBuffer(r.value));
  }

  async waitForTicks(n: number, timeoutMs = 3_000): Promise<Tick[]> {
    await until(() => this.ticks().length >= n || this.error !== undefined, `${n} ticks`, timeoutMs);
    if (this.error !== undefined) throw this.error;
    return this.ticks();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

export async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Node's live handles of the kinds a feed creates (sockets and timers). */
export function liveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TCPSocketWrap' || kind === 'TCPServerWrap' || kind === 'Timeout')
      counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
