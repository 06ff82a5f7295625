import { gunzipSync, gzipSync } from 'node:zlib';
import type { Admin, Kafka, KafkaMessage, Transaction } from 'kafkajs';
import type { Counter, Gauge } from 'prom-client';
import { TickLakeError } from '../../core/errors.ts';
import { checkpointRefSchema, type CheckpointRef } from '../../core/pipeline.ts';
import type { Logger } from '../../infra/logger.ts';
import type { BatchOutput } from './exactly-once-loop.ts';
import { readPartitionRange } from './range-reader.ts';

/**
 * Per-partition state for an ExactlyOnceLoop handler, recoverable after a restart or a rebalance. At most every
 * `snapshotIntervalMs` the state is written (gzip'd JSON) to a compacted state topic inside the batch's
 * transaction, and the committed input offset's metadata points at that checkpoint record. Whoever owns the
 * partition next loads the checkpoint and replays the records between it and the committed offset with outputs
 * suppressed, so the state is exactly what it was and nothing is emitted twice. The processor and the speed layer
 * are its callers; what the state is, and how a record changes it, is theirs (`PartitionStateFactory`).
 */
export interface PartitionState {
  /** The first input offset not yet reflected in this state. */
  nextOffset: string;
  snapshot(): unknown;
}

export interface PartitionStateFactory<S extends PartitionState> {
  create(partition: number, nextOffset: string): S;
  /** From a checkpoint as read back (unknown JSON): parse it by its schema, throw if it doesn't fit. */
  restore(partition: number, snapshot: unknown): S;
  /** Re-applies an input record already committed before: state changes, outputs are dropped. */
  replay(state: S, message: KafkaMessage): void;
}

export interface RecoveryMetrics {
  recoveries: Counter;
  replayed: Counter;
  owned: Gauge;
}

export interface CheckpointedPartitionsOptions<S extends PartitionState> {
  kafka: Kafka;
  groupId: string;
  inputTopic: string;
  stateTopic: string;
  snapshotIntervalMs: number;
  factory: PartitionStateFactory<S>;
  log: Logger;
  metrics?: RecoveryMetrics;
}

interface Owned<S> {
  state: S;
  checkpoint?: CheckpointRef;
  lastCheckpointAt: number;
}

export class CheckpointedPartitions<S extends PartitionState> {
  private readonly owned = new Map<number, Owned<S>>();
  private adminClient?: Promise<Admin>;

  constructor(private readonly opts: CheckpointedPartitionsOptions<S>) {}

  get size(): number {
    return this.owned.size;
  }

  /**
   * The partition's state as of `firstOffset`: the live one if it lines up, else rebuilt from the checkpoint the
   * committed offset points at, plus a suppressed replay of the records between that checkpoint and `firstOffset`.
   */
  async ensure(partition: number, firstOffset: string): Promise<S> {
    const live = this.owned.get(partition);
    if (live && live.state.nextOffset === firstOffset) return live.state;
    const { kafka, factory, metrics } = this.opts;
    metrics?.recoveries.inc();
    const started = Date.now();
    const ref = await this.committedCheckpoint(partition);
    let state: S;
    if (ref) {
      let snapshot: unknown;
      await readPartitionRange(
        kafka,
        { topic: this.opts.stateTopic, partition, from: BigInt(ref.o), to: BigInt(ref.o) + 1n },
        (m) => (snapshot = m.value ? JSON.parse(gunzipSync(m.value).toString('utf8')) : undefined),
      );
      if (snapshot === undefined) {
        throw new TickLakeError('STATE_CORRUPT', `checkpoint ${ref.o} of partition ${partition} not found`, {
          details: { topic: this.opts.stateTopic, partition, offset: ref.o },
        });
      }
      state = factory.restore(partition, snapshot);
    } else {
      state = factory.create(partition, firstOffset);
    }
    const replayed = await readPartitionRange(
      kafka,
      { topic: this.opts.inputTopic, partition, from: BigInt(state.nextOffset), to: BigInt(firstOffset) },
      (m) => factory.replay(state, m),
    );
    // Transaction markers take offsets too: the last replayed record may sit below firstOffset.
    state.nextOffset = firstOffset;
    metrics?.replayed.inc(replayed);
    // lastCheckpointAt 0: checkpoint in the first transaction, so the next recovery replays little.
    this.owned.set(partition, { state, checkpoint: ref, lastCheckpointAt: 0 });
    metrics?.owned.set(this.owned.size);
    this.opts.log.info('partition state ready', {
      partition,
      checkpoint: ref?.n ?? null,
      replayed,
      firstOffset,
      ms: Date.now() - started,
    });
    return state;
  }

  /** The batch's transaction failed: the in-memory state ran ahead of what Kafka has. */
  drop(partition: number): void {
    this.owned.delete(partition);
    this.opts.metrics?.owned.set(this.owned.size);
  }

  /** After a rebalance: forget what this member no longer owns (its state is trusted only while offsets line up). */
  retain(mine: ReadonlySet<number>): void {
    for (const p of [...this.owned.keys()]) if (!mine.has(p)) this.owned.delete(p);
    this.opts.metrics?.owned.set(this.owned.size);
  }

  /**
   * The checkpoint part of a batch's output: inside the transaction, a new checkpoint when one is due, and the
   * offset metadata pointing at the latest; after the commit, the new checkpoint becomes the one to recover from.
   */
  checkpoint(partition: number): Required<Pick<BatchOutput, 'beforeOffsets' | 'committed'>> {
    const owned = this.owned.get(partition);
    if (!owned) throw new TickLakeError('INTERNAL', `partition ${partition} has no state to checkpoint`);
    const due = !owned.checkpoint || Date.now() - owned.lastCheckpointAt >= this.opts.snapshotIntervalMs;
    let checkpoint = owned.checkpoint;
    return {
      beforeOffsets: async (tx: Transaction) => {
        if (due) {
          const snap = owned.state.snapshot();
          const [meta] = await tx.send({
            topic: this.opts.stateTopic,
            acks: -1,
            messages: [{ key: String(partition), value: gzipSync(JSON.stringify(snap)), partition }],
          });
          checkpoint = { o: meta!.baseOffset!, n: owned.state.nextOffset };
        }
        return JSON.stringify(checkpoint);
      },
      committed: () => {
        if (!due) return;
        owned.checkpoint = checkpoint;
        owned.lastCheckpointAt = Date.now();
      },
    };
  }

  async close(): Promise<void> {
    await (await this.adminClient?.catch(() => undefined))?.disconnect().catch(() => {});
  }

  /**
   * One admin client for the owner's life: connecting one per recovery cost ~0.3 s per partition, paid in
   * sequence by a fresh process before its first commit of each partition.
   */
  private admin(): Promise<Admin> {
    if (!this.adminClient) {
      const admin = this.opts.kafka.admin();
      this.adminClient = admin.connect().then(() => admin);
      this.adminClient.catch(() => (this.adminClient = undefined));
    }
    return this.adminClient;
  }

  private async committedCheckpoint(partition: number): Promise<CheckpointRef | undefined> {
    const admin = await this.admin();
    const [entry] = await admin.fetchOffsets({ groupId: this.opts.groupId, topics: [this.opts.inputTopic] });
    const p = entry?.partitions.find((x) => x.partition === partition);
    if (!p?.metadata) return undefined;
    const ref = checkpointRefSchema.safeParse(JSON.parse(p.metadata));
    if (!ref.success) {
      throw new TickLakeError('STATE_CORRUPT', `offset metadata of partition ${partition} is not a checkpoint ref`, {
        details: { metadata: p.metadata, issues: ref.error.issues },
      });
    }
    return ref.data;
  }
}
