import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../../infra/logger.ts';

/**
 * One transactional producer per input partition, its transactional id derived from the group, the input topic
 * and the partition (`<group>-<topic>-<partition>`), not from the instance: the fencing Kafka Streams used before
 * KIP-447, which kafkajs lacks. Whoever owns a partition next initialises the same id, which fences the previous
 * owner's producer: a processor that was paused past its session (a zombie) then fails its late commit instead of
 * committing output and offsets for a partition that moved on. It also aborts a killed owner's open transaction at
 * once, so read_committed readers of its outputs wait for the next owner, not for the transaction timeout.
 * The bench's zombie probes prove the scheme (`npm run bench -- kafka-clients`, driver kafkajs-partition-txn).
 *
 * A partition whose producer was fenced is not given a new one until the group assigns it to this instance again:
 * a new producer would in turn fence the partition's real owner, and the two would take turns committing.
 */
export class PartitionProducers {
  private readonly producers = new Map<number, Promise<Producer>>();
  private readonly fenced = new Set<number>();

  constructor(
    private readonly kafka: Kafka,
    private readonly idPrefix: string,
    private readonly log: Logger,
  ) {}

  transactionalId(partition: number): string {
    return `${this.idPrefix}-${partition}`;
  }

  /** The partition's producer, connected (which fences any previous holder of its id). */
  get(partition: number): Promise<Producer> {
    if (this.fenced.has(partition)) {
      return Promise.reject(
        new Error(
          `partition ${partition}: our producer was fenced by a newer owner; waiting for the group to reassign`,
        ),
      );
    }
    let p = this.producers.get(partition);
    if (!p) {
      const producer = this.kafka.producer({
        transactionalId: this.transactionalId(partition),
        idempotent: true,
        maxInFlightRequests: 1,
        // Kept short: a transaction open past this is aborted by the broker even if no new owner shows up.
        transactionTimeout: 15_000,
      });
      p = producer.connect().then(() => producer);
      p.catch(() => this.producers.delete(partition));
      this.producers.set(partition, p);
    }
    return p;
  }

  /** After a failed transaction: the producer is dropped (and, when it was fenced, not replaced until reassigned). */
  async failed(partition: number, err: unknown): Promise<void> {
    if (isFenced(err)) {
      this.fenced.add(partition);
      this.log.warn('producer fenced: another instance owns the partition now', { partition });
    }
    await this.release(partition);
  }

  /** On a new assignment: the producers of partitions no longer ours are closed; ours may be fenced no more. */
  async assigned(partitions: ReadonlySet<number>): Promise<void> {
    for (const p of [...this.fenced]) if (partitions.has(p)) this.fenced.delete(p);
    for (const p of [...this.producers.keys()]) if (!partitions.has(p)) await this.release(p);
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.keys()].map((p) => this.release(p)));
  }

  private async release(partition: number): Promise<void> {
    const p = this.producers.get(partition);
    this.producers.delete(partition);
    if (p) await (await p.catch(() => undefined))?.disconnect().catch(() => {});
  }
}

const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

/** kafkajs wraps protocol errors (retries, non-retriable wrappers); the broker's error type is somewhere inside. */
function hasErrorType(err: unknown, types: ReadonlySet<string>): boolean {
  for (
    let e = err as { type?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0;
    e && depth < 6;
    depth++
  ) {
    if (typeof e.type === 'string' && types.has(e.type)) return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}

export function isFenced(err: unknown): boolean {
  return hasErrorType(err, FENCED);
}

const CONCURRENT = new Set(['CONCURRENT_TRANSACTIONS']);

/**
 * The broker is still completing this transactional id's previous transaction (typically the one a restarted
 * process left open, aborted when its producer was initialised again): the same producer may simply try again.
 */
export function isConcurrentTransaction(err: unknown): boolean {
  return hasErrorType(err, CONCURRENT);
}
