import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Config } from '../../core/config.ts';
import { mapLimit } from '../../core/lanes.ts';
import type { Logger } from '../../infra/logger.ts';
import { retryWithBackoff } from '../../core/retry.ts';
import { nowUs } from '../../core/schemas/tick.ts';
import type { FileEntry } from '../../lake/manifest.ts';
import type { Storage } from '../../lake/storage/storage.ts';
import type { SinkTableName } from '../../lake/tables.ts';
import { LakeWriter } from '../../lake/writer.ts';
import { dlqMessages } from '../dlq.ts';
import { topicName } from '../topics.ts';
import { bufferedBytes, chunksOf, deadLettersOf, flushDue, type Chunk, type PartitionBuffer } from './chunks.ts';
import { packBlock, type EncodedBlock } from './encode-block.ts';
import { EncoderPool } from './encoder-pool.ts';
import { failpoint, failpointMidUpload } from './failpoints.ts';
import { sinkMetrics } from './metrics.ts';
import { SINK_TABLES, type SinkTable } from './tables.ts';

/** S3 retries: 200 ms doubling to 15 s, no jitter (one writer per partition, nothing to spread). */
const SINK_BACKOFF = { initialMs: 200, multiplier: 2, maxMs: 15_000, jitter: 0 };

/**
 * `ticklake sink --table <t>`: a Kafka topic into a lake table, exactly once *as read through the manifest*.
 *
 * The manifest, not the consumer group, is the source of truth for progress: each commit records the offset ranges
 * it covers, and on (re)assignment the sink resumes every partition at the manifest's next offset. Data objects are
 * named after their offset range, so a retry rewrites the same names; an object uploaded but never committed is
 * invisible to readers and is later removed as an orphan. Consumer-group offsets are committed after the manifest,
 * for lag monitoring only. Kill it at any step and restart it: every record is in the table once.
 */
export interface SinkOptions {
  config: Config;
  kafka: Kafka;
  storage: Storage;
  table: SinkTableName;
  log: Logger;
  registry?: Registry;
  /** Encoder threads, shared by the sinks of one process; by default the sink starts (and stops) its own. */
  encoders?: EncoderPool;
  /** Called when the consumer stops for good; the process should exit and be restarted. */
  onFatal?: (err: Error) => void;
}

/** The sink's consumer group: progress lives in the manifest, the group's offsets are for lag monitoring. */
export function sinkGroupId(config: Config, table: SinkTableName): string {
  return `${config.topics.prefix}${config.sink.groupPrefix}-${table}`;
}

export class LakeSink {
  private readonly table: SinkTable;
  private readonly topic: string;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly writer: LakeWriter;
  private readonly encoders: EncoderPool;
  private readonly buffers = new Map<number, PartitionBuffer>();
  /**
   * Per assigned partition, the next offset to take: below it a record is in the table, in flight, or buffered.
   * Loaded from the manifest on assignment; re-delivered records (after a seek or a rebalance) fall below it.
   */
  private readonly cursor = new Map<number, bigint>();
  private lock: Promise<void> = Promise.resolve();
  /** The flush being written, if any: one at a time, so manifest commits follow offset order. */
  private inFlight: Promise<void> | null = null;
  private inFlightBytes = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly metrics;
  private readonly groupId: string;

  constructor(private readonly opts: SinkOptions) {
    this.table = SINK_TABLES[opts.table];
    this.topic = topicName(opts.config, this.table.topic);
    this.groupId = sinkGroupId(opts.config, opts.table);
    this.consumer = opts.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxBytesPerPartition: 8 << 20,
      maxBytes: 32 << 20,
      maxWaitTimeInMs: 250,
      // A killed sink's partitions move after this long.
      sessionTimeout: 20_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 2_000,
    });
    this.producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.writer = new LakeWriter(opts.storage);
    this.encoders = opts.encoders ?? new EncoderPool(opts.config.sink.encoderThreads);
    this.metrics = { ...sinkMetrics(opts.registry), labels: { table: opts.table } };
  }

  async start(): Promise<void> {
    await this.encoders.start();
    await this.producer.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assigned: number[] = e.payload.memberAssignment[this.topic] ?? [];
      this.exclusive(() => this.onAssignment(assigned)).catch((err: Error) =>
        this.opts.log.warn('could not load positions after a rebalance', { error: err.message }),
      );
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.opts.onFatal?.(e.payload.error);
    });
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.timer = setInterval(() => {
      void this.exclusive(async () => {
        if (!this.inFlight && this.due(false)) this.startFlush();
      });
    }, 500);
  }

  /** Flushes what is buffered and stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.consumer.disconnect().catch(() => {});
    await this.exclusive(async () => {
      await this.inFlight;
      this.startFlush();
      await this.inFlight;
    }).catch((err: Error) =>
      this.opts.log.warn('final flush failed; the records will be re-read on restart', { error: err.message }),
    );
    if (!this.opts.encoders) await this.encoders.close();
    await this.producer.disconnect().catch(() => {});
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * After a rebalance: let the flush in flight land (the manifest rejects it if a new owner got there first), drop
   * what belongs to revoked partitions, and resume every assigned partition where the manifest says, keeping a
   * buffer only if it starts exactly there.
   */
  private async onAssignment(assigned: number[]): Promise<void> {
    await this.inFlight?.catch(() => {});
    for (const p of [...this.buffers.keys()]) if (!assigned.includes(p)) this.buffers.delete(p);
    this.cursor.clear();
    const positions = await this.committedPositions();
    for (const p of assigned) {
      const next = positions.get(p) ?? 0n;
      const buf = this.buffers.get(p);
      if (buf?.firstOffset !== undefined && BigInt(buf.firstOffset) === next) {
        this.cursor.set(p, BigInt(buf.lastOffset!) + 1n);
      } else {
        this.buffers.delete(p);
        this.cursor.set(p, next);
      }
      this.consumer.seek({ topic: this.topic, partition: p, offset: this.cursor.get(p)!.toString() });
    }
    this.updatePending();
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    await this.exclusive(async () => {
      if (!isRunning() || isStale()) return;
      const p = batch.partition;
      if (!this.cursor.has(p)) {
        const positions = await this.committedPositions(heartbeat);
        this.cursor.set(p, positions.get(p) ?? 0n);
      }
      let cursor = this.cursor.get(p)!;
      let buf = this.buffers.get(p);
      for (const m of batch.messages) {
        const off = BigInt(m.offset);
        if (off < cursor) continue; // in the table, in flight or buffered already
        cursor = off + 1n;
        if (!buf) {
          buf = { values: [], keys: [], offsets: [], bytes: 0, openedAt: Date.now() };
          this.buffers.set(p, buf);
        }
        buf.firstOffset ??= m.offset;
        buf.lastOffset = m.offset;
        if (this.table.isControl(m.key)) continue;
        buf.values.push(m.value);
        buf.keys.push(m.key);
        buf.offsets.push(m.offset);
        buf.bytes += m.value?.length ?? 0;
      }
      this.cursor.set(p, cursor);
      this.updatePending();
      // The next flush waits for the one in flight: fetching goes on meanwhile, within the memory bound.
      while (this.due(true) || this.bufferedBytes() + this.inFlightBytes >= this.opts.config.sink.maxPendingBytes) {
        if (!this.inFlight) {
          this.startFlush();
          if (this.bufferedBytes() + this.inFlightBytes < this.opts.config.sink.maxPendingBytes) break;
        }
        // A flush that fails for good has already reported itself (fatal); here we only wait for it to end.
        await Promise.race([this.inFlight?.catch(() => {}), sleep(1000)]);
        await heartbeat().catch(() => {});
        if (!isRunning() || isStale()) return;
      }
    });
  }

  private bufferedBytes(): number {
    return bufferedBytes(this.buffers.values());
  }

  private updatePending(): void {
    this.metrics.pending.set(this.metrics.labels, this.bufferedBytes() + this.inFlightBytes);
  }

  private due(sizeOnly: boolean): boolean {
    return flushDue(this.buffers.values(), this.opts.config.sink, Date.now(), sizeOnly);
  }

  /** Where each partition resumes, from the manifest; retried until S3 answers (nothing may be read before). */
  private async committedPositions(heartbeat?: () => Promise<void>): Promise<Map<number, bigint>> {
    const committed = await this.retry(
      'reading the manifest',
      () => this.writer.committedOffsets(this.table.def),
      heartbeat,
    );
    return new Map(committed.filter((c) => c.topic === this.topic).map((c) => [c.partition, BigInt(c.nextOffset)]));
  }

  /**
   * Takes every buffered partition into one flush: encoded on the encoder threads, uploaded, and committed in ONE
   * manifest snapshot, retried with backoff until it succeeds (S3 down or throttling). Must not be called while
   * another flush is in flight.
   */
  private startFlush(): void {
    const ready = [...this.buffers.entries()].filter(([, b]) => b.firstOffset !== undefined);
    if (!ready.length) return;
    for (const [p] of ready) this.buffers.delete(p);
    const bytes = ready.reduce((n, [, b]) => n + b.bytes, 0);
    this.inFlightBytes += bytes;
    const end = this.metrics.flush.startTimer(this.metrics.labels);
    const run: Promise<void> = this.retry('flush', () => this.writeAndCommit(ready))
      .then(() => void end())
      .catch((err: Error) => {
        // Only when stopping (retries give up) or when the manifest refused our offsets: what is in the table is
        // still exactly once, but this process no longer knows where to resume, so it starts over from the manifest.
        if (!this.stopped) this.fatal(err);
        throw err;
      })
      .finally(() => {
        this.inFlightBytes -= bytes;
        if (this.inFlight === run) this.inFlight = null;
        this.updatePending();
      });
    this.inFlight = run;
    run.catch(() => {});
  }

  private fatal(err: Error): void {
    this.opts.log.error('sink cannot continue', { error: err.message });
    if (this.opts.onFatal) this.opts.onFatal(err);
    else void this.stop();
  }

  /**
   * Retries `fn` with capped exponential backoff until it succeeds. Gives up on errors that retrying can't fix
   * (the manifest saying our offsets overlap a commit) and, once stopping, after 3 tries.
   */
  private retry<T>(what: string, fn: () => Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
    return retryWithBackoff(fn, {
      backoff: SINK_BACKOFF,
      giveUp: (_err, attempt) => this.stopped && attempt >= 3,
      onRetry: async (err, attempt, backoffMs) => {
        this.metrics.retries.inc(this.metrics.labels);
        this.opts.log.warn(`${what} failed; retrying`, { attempt, error: (err as Error).message, backoffMs });
        await heartbeat?.().catch(() => {});
      },
    });
  }

  /**
   * Each chunk is packed shortly before an encoder thread takes it: one per thread plus one queued ahead, so a
   * thread never waits for the main thread to pack its next chunk, and the packed copies and the threads' working
   * sets stay bounded by the chunk size, not by how much was buffered.
   */
  private encodeChunks(chunks: readonly Chunk[]): Promise<EncodedBlock[]> {
    return mapLimit(chunks, this.encoders.size + 1, (c) =>
      c.to > c.from
        ? this.encoders.encode(
            this.encoders.leastBusy(),
            this.opts.table,
            packBlock(c.buffer.values.slice(c.from, c.to)),
            c.range,
          )
        : Promise.resolve({ files: [], rows: 0, rejects: [] }),
    );
  }

  private async writeAndCommit(ready: Array<[number, PartitionBuffer]>): Promise<void> {
    const { maxRows, maxBytes } = this.opts.config.sink;
    const chunks = ready.flatMap(([partition, b]) => chunksOf(this.topic, partition, b, maxRows, maxBytes));
    const ranges = chunks.map((c) => c.range);
    const t0 = performance.now();
    const encoded = await this.encodeChunks(chunks);
    const t1 = performance.now();
    const entries: FileEntry[] = [];
    for (const block of encoded) {
      for (const file of block.files) {
        failpoint('before-upload');
        await failpointMidUpload((partial) => this.opts.storage.put(file.key, partial), file.body);
        entries.push(await this.writer.upload(file));
        failpoint('after-upload');
      }
    }
    const rejects = deadLettersOf(chunks, encoded);
    if (rejects.length) {
      // Before the manifest: a crash in between re-sends these (at least once), but never loses them.
      await this.producer.send({
        topic: topicName(this.opts.config, 'dlq'),
        acks: -1,
        messages: dlqMessages(rejects, {
          sourceTopic: this.topic,
          component: `sink-${this.opts.table}`,
          nowUs: nowUs(),
        }),
      });
    }
    const t2 = performance.now();
    const endCommit = this.metrics.commit.startTimer(this.metrics.labels);
    const result = await this.writer.commit(this.table.def, entries, { ranges });
    endCommit();
    failpoint('after-manifest');
    const rows = encoded.reduce((n, e) => n + e.rows, 0);
    this.opts.log.debug('flushed', {
      rows,
      files: entries.length,
      encodeMs: Math.round(t1 - t0),
      uploadMs: Math.round(t2 - t1),
      commitMs: Math.round(performance.now() - t2),
      status: result.status,
    });
    await this.consumer
      .commitOffsets(
        ready.map(([partition, b]) => ({
          topic: this.topic,
          partition,
          offset: (BigInt(b.lastOffset!) + 1n).toString(),
        })),
      )
      .catch((err: Error) =>
        this.opts.log.warn('group offset commit failed (monitoring only)', { error: err.message }),
      );
    failpoint('after-offset-commit');
    if (result.status === 'committed') {
      this.metrics.rows.inc(this.metrics.labels, rows);
      this.metrics.files.inc(this.metrics.labels, entries.length);
      this.metrics.bytes.inc(
        this.metrics.labels,
        entries.reduce((n, e) => n + e.bytes, 0),
      );
      const landedUs = nowUs();
      for (const e of entries) this.metrics.landed.observe(this.metrics.labels, Math.max(0, landedUs - e.maxTs) / 1e6);
    }
    for (const r of rejects) this.metrics.dlq.inc({ ...this.metrics.labels, reason: r.reason });
  }
}
