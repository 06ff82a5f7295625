import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import { nowUs } from '../../core/schemas/tick.ts';
import type { SourceRange } from '../../lake/layout.ts';
import type { FileEntry } from '../../lake/manifest.ts';
import type { Storage } from '../../lake/storage/storage.ts';
import type { TableName } from '../../lake/tables.ts';
import { LakeWriter } from '../../lake/writer.ts';
import { dlqRecord } from '../dlq.ts';
import { topicName } from '../topics.ts';
import { failpoint } from './failpoints.ts';
import { SINK_TABLES, type SinkTable } from './tables.ts';

/**
 * `ticklake sink --table <t>`: a Kafka topic into a lake table, exactly once *as read through the manifest*.
 *
 * The manifest, not the consumer group, is the source of truth for progress: each commit records the offset ranges
 * it covers, and on (re)assignment the sink resumes every partition at the manifest's next offset. Data objects are
 * named after their offset range, so a retry rewrites the same names; an object uploaded but never committed is
 * invisible to readers and is later removed as an orphan. Consumer-group offsets are committed after the manifest,
 * for lag monitoring only. Kill it at any step and restart it: every record is in the table once.
 */
interface PartitionBuffer {
  rows: unknown[];
  bytes: number;
  firstOffset?: string;
  lastOffset?: string;
  openedAt: number;
  rejects: Array<{
    offset: string;
    key: string | null;
    value: Buffer | null;
    reason: SinkReject['reason'];
    detail: string;
  }>;
}

type SinkReject = Extract<ReturnType<SinkTable['decode']>, { kind: 'reject' }>;

export interface SinkOptions {
  config: Config;
  kafka: Kafka;
  storage: Storage;
  table: TableName;
  log: Logger;
  registry?: Registry;
  /** Called when the consumer stops for good; the process should exit and be restarted. */
  onFatal?: (err: Error) => void;
}

function createSinkMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  const labelNames = ['table'];
  return {
    rows: new Counter({ name: 'ticklake_sink_rows_total', help: 'Rows committed to the lake', labelNames, registers }),
    files: new Counter({ name: 'ticklake_sink_files_total', help: 'Files committed', labelNames, registers }),
    bytes: new Counter({ name: 'ticklake_sink_bytes_total', help: 'Parquet bytes committed', labelNames, registers }),
    dlq: new Counter({
      name: 'ticklake_sink_dlq_total',
      help: 'Records that did not fit the table',
      labelNames,
      registers,
    }),
    retries: new Counter({
      name: 'ticklake_sink_retries_total',
      help: 'Failed attempts (retried)',
      labelNames,
      registers,
    }),
    pending: new Gauge({
      name: 'ticklake_sink_pending_bytes',
      help: 'Bytes buffered, not yet committed',
      labelNames,
      registers,
    }),
    flush: new Histogram({
      name: 'ticklake_sink_flush_seconds',
      help: 'Encode + upload + commit time per flush',
      labelNames,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}

// Several sinks (one per table) may share a process and its registry: one metric set per registry.
const metricsByRegistry = new WeakMap<Registry, ReturnType<typeof createSinkMetrics>>();

function sinkMetrics(registry?: Registry): ReturnType<typeof createSinkMetrics> {
  if (!registry) return createSinkMetrics();
  let m = metricsByRegistry.get(registry);
  if (!m) metricsByRegistry.set(registry, (m = createSinkMetrics(registry)));
  return m;
}

export class LakeSink {
  private readonly table: SinkTable;
  private readonly topic: string;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly writer: LakeWriter;
  private readonly buffers = new Map<number, PartitionBuffer>();
  /** The next offset each assigned partition must deliver, from the manifest. Records below it are in the table. */
  private readonly next = new Map<number, bigint>();
  private lock: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly metrics;
  private readonly groupId: string;

  constructor(private readonly opts: SinkOptions) {
    this.table = SINK_TABLES[opts.table];
    this.topic = topicName(opts.config, this.table.topic);
    this.groupId = `${opts.config.topics.prefix}${opts.config.sink.groupPrefix}-${opts.table}`;
    this.consumer = opts.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxBytesPerPartition: 8 << 20,
      maxBytes: 32 << 20,
      maxWaitTimeInMs: 250,
      // A killed sink's partitions move after this long. Flushes heartbeat between uploads and retries.
      sessionTimeout: 20_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 2_000,
    });
    this.producer = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.writer = new LakeWriter(opts.storage);
    this.metrics = { ...sinkMetrics(opts.registry), labels: { table: opts.table } };
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assigned: number[] = e.payload.memberAssignment[this.topic] ?? [];
      // Revoked partitions' buffers were never committed: drop them, the new owner re-reads from the manifest.
      this.exclusive(async () => {
        for (const p of [...this.buffers.keys()]) if (!assigned.includes(p)) this.buffers.delete(p);
        this.next.clear();
        await this.loadPositions(assigned);
        for (const p of assigned) {
          const n = this.next.get(p);
          if (n !== undefined) this.consumer.seek({ topic: this.topic, partition: p, offset: n.toString() });
        }
      }).catch((err: Error) =>
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
        if (this.due(false)) await this.flush();
      }).catch((err: Error) => this.opts.log.warn('timed flush failed', { error: err.message }));
    }, 500);
  }

  /** Flushes what is buffered and stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await this.consumer.disconnect().catch(() => {});
    await this.exclusive(() => this.flush()).catch((err: Error) =>
      this.opts.log.warn('final flush failed; the records will be re-read on restart', { error: err.message }),
    );
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

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    await this.exclusive(async () => {
      if (!isRunning() || isStale()) return;
      const p = batch.partition;
      if (!this.next.has(p)) await this.loadPositions([p], heartbeat);
      const floor = this.next.get(p) ?? 0n;
      let buf = this.buffers.get(p);
      for (const m of batch.messages) {
        const off = BigInt(m.offset);
        if (off < floor) continue; // already in the table
        if (buf?.lastOffset !== undefined && off <= BigInt(buf.lastOffset)) continue; // re-delivered after a seek
        if (!buf) this.buffers.set(p, (buf = { rows: [], bytes: 0, openedAt: Date.now(), rejects: [] }));
        buf.firstOffset ??= m.offset;
        buf.lastOffset = m.offset;
        const key = m.key ? m.key.toString('utf8') : null;
        const d = this.table.decode(key, m.value);
        if (d.kind === 'row') {
          buf.rows.push(d.row);
          buf.bytes += m.value?.length ?? 0;
        } else if (d.kind === 'reject') {
          buf.rejects.push({ offset: m.offset, key, value: m.value, reason: d.reason, detail: d.detail });
        }
      }
      this.metrics.pending.set(this.metrics.labels, this.pendingBytes());
      if (this.due(true)) await this.flush(heartbeat);
    });
  }

  private pendingBytes(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.bytes;
    return n;
  }

  private due(sizeOnly: boolean): boolean {
    const s = this.opts.config.sink;
    if (this.pendingBytes() >= s.maxPendingBytes) return true;
    for (const b of this.buffers.values()) {
      if (b.rows.length >= s.maxRows || b.bytes >= s.maxBytes) return true;
      if (!sizeOnly && b.firstOffset !== undefined && Date.now() - b.openedAt >= s.maxAgeMs) return true;
    }
    return false;
  }

  /** Where each partition resumes, from the manifest; retried until S3 answers (nothing may be read before). */
  private async loadPositions(partitions: number[], heartbeat?: () => Promise<void>): Promise<void> {
    const committed = await this.retry(
      'reading the manifest',
      () => this.writer.committedOffsets(this.table.def),
      heartbeat,
    );
    for (const p of partitions) {
      const pos = committed.find((c) => c.topic === this.topic && c.partition === p);
      if (pos) this.next.set(p, BigInt(pos.nextOffset));
      else this.next.set(p, 0n);
    }
  }

  /**
   * Writes every buffered partition as files and commits them in ONE manifest snapshot. Retries with backoff until
   * it succeeds (S3 down or throttling): meanwhile no new batch is taken, so memory stays bounded.
   */
  private async flush(heartbeat?: () => Promise<void>): Promise<void> {
    const ready = [...this.buffers.entries()].filter(([, b]) => b.firstOffset !== undefined);
    if (!ready.length) return;
    const end = this.metrics.flush.startTimer(this.metrics.labels);
    await this.retry('flush', () => this.writeAndCommit(ready, heartbeat), heartbeat);
    end();
    for (const [p, b] of ready) {
      this.next.set(p, BigInt(b.lastOffset!) + 1n);
      this.buffers.delete(p);
    }
    this.metrics.pending.set(this.metrics.labels, this.pendingBytes());
  }

  /** Retries `fn` with capped exponential backoff until it succeeds (or, once stopping, gives up after 3 tries). */
  private async retry<T>(what: string, fn: () => Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
    let backoff = 200;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (this.stopped && attempt >= 3) throw err;
        this.metrics.retries.inc(this.metrics.labels);
        this.opts.log.warn(`${what} failed; retrying`, { attempt, error: (err as Error).message, backoffMs: backoff });
        await heartbeat?.().catch(() => {});
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 15_000);
      }
    }
  }

  private async writeAndCommit(
    ready: Array<[number, PartitionBuffer]>,
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    const entries: FileEntry[] = [];
    const ranges: SourceRange[] = [];
    let rows = 0;
    const t0 = performance.now();
    let encodeMs = 0;
    for (const [partition, b] of ready) {
      const range: SourceRange = {
        topic: this.topic,
        partition,
        startOffset: b.firstOffset!,
        endOffset: b.lastOffset!,
      };
      ranges.push(range);
      if (b.rows.length === 0) continue;
      const te = performance.now();
      const files = this.writer.encode(this.table.def, b.rows, range);
      encodeMs += performance.now() - te;
      for (const file of files) {
        failpoint('before-upload');
        failpoint('mid-upload');
        entries.push(await this.writer.upload(file));
        failpoint('after-upload');
        await heartbeat?.().catch(() => {});
      }
      rows += b.rows.length;
    }
    const rejects = ready.flatMap(([partition, b]) => b.rejects.map((r) => ({ partition, ...r })));
    if (rejects.length) {
      // Before the manifest: a crash in between re-sends these (at least once), but never loses them.
      await this.producer.send({
        topic: topicName(this.opts.config, 'dlq'),
        acks: -1,
        messages: rejects.map((r) => ({
          key: r.key,
          value: JSON.stringify(
            dlqRecord({
              reason: r.reason,
              detail: r.detail,
              sourceTopic: this.topic,
              partition: r.partition,
              offset: r.offset,
              key: r.key,
              value: r.value,
              component: `sink-${this.opts.table}`,
              nowUs: nowUs(),
            }),
          ),
        })),
      });
    }
    const t1 = performance.now();
    const result = await this.writer.commit(this.table.def, entries, { ranges });
    failpoint('after-manifest');
    this.opts.log.debug('flushed', {
      rows,
      files: entries.length,
      encodeMs: Math.round(encodeMs),
      uploadMs: Math.round(t1 - t0 - encodeMs),
      commitMs: Math.round(performance.now() - t1),
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
    }
    this.metrics.dlq.inc(this.metrics.labels, rejects.length);
  }
}
