import { TickLakeError } from '../../../core/errors.ts';
import type { SourceRecord, SourceStats, TickSource } from '../source.ts';
import type { FeedAdapter } from './adapter.ts';
import { FeedClient, type FeedClientDeps } from './ws-client.ts';

/**
 * A live feed as a TickSource. The socket pushes records into a buffer; batches() hands them out as the consumer
 * asks. A live vendor cannot be slowed down politely, so when the buffer reaches maxBuffered the socket is paused
 * (TCP backpressure; the vendor may drop a client that stays slow, which the client then survives by reconnecting)
 * and resumed when the buffer has drained to half.
 */
export class FeedSource implements TickSource {
  readonly name: string;
  private readonly client: FeedClient;
  private readonly counters: Record<string, number> = {};
  private queue: SourceRecord[] = [];
  private emitted = 0;
  private started = false;
  private finished = false;
  private failure: unknown;
  private running: Promise<void> | undefined;
  private notify: (() => void) | undefined;

  constructor(
    private readonly adapter: FeedAdapter,
    deps: FeedClientDeps,
  ) {
    this.name = adapter.vendor;
    this.client = new FeedClient(adapter, (record) => this.push(record), this.counters, deps);
  }

  async *batches(signal: AbortSignal): AsyncIterable<SourceRecord[]> {
    if (this.started)
      throw new TickLakeError('INPUT_INVALID', `${this.name} feed: batches() can be iterated only once`);
    this.started = true;
    if (signal.aborted) return;
    const onAbort = () => this.client.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    this.running = this.client.run().then(
      () => this.finish(undefined),
      (err: unknown) => this.finish(err),
    );
    const { maxBatch, maxBuffered } = this.adapter.options;
    try {
      for (;;) {
        if (this.queue.length > 0) {
          const batch = this.queue.length <= maxBatch ? this.queue : this.queue.slice(0, maxBatch);
          this.queue = this.queue.length <= maxBatch ? [] : this.queue.slice(maxBatch);
          if (this.queue.length <= maxBuffered / 2) this.client.setPaused(false);
          this.emitted += batch.length;
          yield batch;
          continue;
        }
        // Records buffered before an abort are still handed out: nothing that arrived is lost.
        if (this.finished) {
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        await new Promise<void>((resolve) => (this.notify = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await this.close();
    }
  }

  stats(): SourceStats {
    return { emitted: this.emitted, counters: { ...this.counters } };
  }

  /** Stops the connection and waits until the socket is closed and every timer cleared. Idempotent. */
  async close(): Promise<void> {
    this.client.stop();
    await this.running;
  }

  private push(record: SourceRecord): void {
    this.queue.push(record);
    if (this.queue.length >= this.adapter.options.maxBuffered) this.client.setPaused(true);
    this.wake();
  }

  private finish(err: unknown): void {
    this.finished = true;
    this.failure = err;
    this.wake();
  }

  private wake(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }
}
