import { setTimeout as sleep } from 'node:timers/promises';
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DependencySignal } from '../infra/health.ts';
import type { Logger } from '../infra/logger.ts';
import type { SourceRecord } from './sources/source.ts';
import { HEARTBEAT_KEY, heartbeatValue } from '../core/schemas/heartbeat.ts';
import { TickLakeError } from '../core/errors.ts';

export interface TickProducerOptions {
  topic: string;
  maxBufferedRecords: number;
  batchSize: number;
  lingerMs: number;
  compression: 'none' | 'gzip';
  log: Logger;
  registry?: Registry;
  /** Upper bound of the retry backoff while Kafka is unreachable. */
  maxBackoffMs?: number;
  /** Told of every send's outcome: how the process's health learns Kafka is unreachable. */
  kafkaHealth?: DependencySignal;
}

interface Buffered {
  key: string;
  value: string | Buffer;
  partition?: number;
}

/**
 * Writes source records to `ticks.raw` with an idempotent, acks=all producer. Records are buffered and sent in
 * large batches; `send` resolves once its records are in the buffer and waits while the buffer is full, which is
 * how a slow or unreachable Kafka slows the source down instead of growing memory. A failed batch is retried with
 * backoff until it succeeds or the producer is closed: nothing is dropped.
 */
export class TickProducer {
  private readonly producer: Producer;
  private buffer: Buffered[] = [];
  private waiters: Array<() => void> = [];
  private flushWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private loop?: Promise<void>;
  private closed = false;
  private wake?: () => void;
  private lastError?: Error;
  /** When the oldest buffered record arrived (performance.now()): the start of its linger. */
  private firstBufferedAt = 0;
  private readonly metrics;

  constructor(
    kafka: Kafka,
    private readonly opts: TickProducerOptions,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    const registers = opts.registry ? [opts.registry] : [];
    this.metrics = {
      sent: new Counter({ name: 'ticklake_producer_records_total', help: 'Records acknowledged by Kafka', registers }),
      bytes: new Counter({ name: 'ticklake_producer_bytes_total', help: 'Value bytes acknowledged', registers }),
      errors: new Counter({
        name: 'ticklake_producer_send_errors_total',
        help: 'Failed batch sends (retried)',
        registers,
      }),
      buffered: new Gauge({
        name: 'ticklake_producer_buffered_records',
        help: 'Records waiting to be sent',
        registers,
      }),
      latency: new Histogram({
        name: 'ticklake_producer_batch_seconds',
        help: 'Time to send one batch',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
        registers,
      }),
    };
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.loop = this.run();
  }

  get bufferedRecords(): number {
    return this.buffer.length;
  }

  /** Accepts records into the buffer, waiting while it is full. */
  async send(records: readonly SourceRecord[]): Promise<void> {
    // The send loop waits on `wake` alone while the buffer is empty: the first record must wake it so the linger
    // timer starts, or records sat until the batch filled or the next heartbeat (up to a second at low rates).
    const wasEmpty = this.buffer.length === 0;
    for (const r of records) {
      while (this.buffer.length >= this.opts.maxBufferedRecords) {
        if (this.closed) throw new TickLakeError('INTERNAL', 'producer closed');
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
      if (this.buffer.length === 0) this.firstBufferedAt = performance.now();
      this.buffer.push({ key: r.key, value: r.value });
    }
    this.metrics.buffered.set(this.buffer.length);
    // Woken on the first record (its linger starts now: a quiet stream is sent within lingerMs, not at the next
    // heartbeat or full batch) and on a full batch; records in between ride the running linger.
    if (wasEmpty || this.buffer.length >= this.opts.batchSize) this.wake?.();
  }

  /**
   * One heartbeat per partition carrying event time `ts`: lets the processor's watermark advance on partitions
   * that have no ticks, deterministically (it is data in the log, not a wall clock).
   */
  async sendHeartbeats(ts: number, source: string, partitions: number): Promise<void> {
    const value = heartbeatValue(source, ts);
    for (let p = 0; p < partitions; p++) {
      while (this.buffer.length >= this.opts.maxBufferedRecords) await new Promise<void>((r) => this.waiters.push(r));
      if (this.buffer.length === 0) this.firstBufferedAt = performance.now();
      this.buffer.push({ key: HEARTBEAT_KEY, value, partition: p });
    }
    this.wake?.();
  }

  /** Resolves when everything buffered so far is acknowledged. */
  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.flushWaiters.push({ resolve, reject });
      this.wake?.();
    });
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.wake?.();
    await this.loop;
    await this.producer.disconnect();
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.closed || this.buffer.length > 0) {
      if (this.buffer.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        if (this.buffer.length === 0 && this.closed) break;
        continue;
      }
      // Linger counts from the oldest buffered record (for records that came during the previous send, from that
      // send's start): a quiet stream waits at most lingerMs, a busy one whose sends outlast lingerMs sends back to
      // back, and a full batch or a flush goes at once.
      const lingerLeft = () =>
        this.buffer.length < this.opts.batchSize && this.flushWaiters.length === 0 && !this.closed
          ? this.opts.lingerMs - (performance.now() - this.firstBufferedAt)
          : 0;
      const left = lingerLeft();
      if (left >= 1) {
        const linger = new AbortController();
        await Promise.race([
          new Promise<void>((resolve) => (this.wake = resolve)),
          sleep(left, undefined, { signal: linger.signal }).catch(() => {}),
        ]);
        linger.abort();
        if (lingerLeft() >= 1) continue; // woken by a record that neither filled the batch nor ended the linger
      }
      const batch = this.buffer.slice(0, this.opts.batchSize);
      const sendStarted = performance.now();
      const end = this.metrics.latency.startTimer();
      try {
        await this.producer.send({
          topic: this.opts.topic,
          acks: -1,
          compression: this.opts.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
          messages: batch,
        });
        end();
        this.opts.kafkaHealth?.ok();
        this.buffer.splice(0, batch.length);
        if (this.buffer.length > 0) this.firstBufferedAt = Math.max(this.firstBufferedAt, sendStarted);
        let bytes = 0;
        for (const m of batch) bytes += typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
        this.metrics.sent.inc(batch.length);
        this.metrics.bytes.inc(bytes);
        this.metrics.buffered.set(this.buffer.length);
        if (this.lastError) this.opts.log.info('kafka reachable again, sending resumed');
        this.lastError = undefined;
        backoff = 100;
        this.waiters.splice(0).forEach((w) => w());
        if (this.buffer.length === 0) this.flushWaiters.splice(0).forEach((w) => w.resolve());
      } catch (err) {
        this.metrics.errors.inc();
        this.opts.kafkaHealth?.failed(err);
        if (!this.lastError)
          this.opts.log.warn('send failed, retrying with backoff', { error: (err as Error).message });
        this.lastError = err as Error;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 10_000);
      }
    }
  }
}
