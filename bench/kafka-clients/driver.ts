/**
 * The contract every Kafka client under comparison implements (`npm run bench -- kafka-clients`). One driver per
 * client in `drivers/`, each configured the way the client's own docs advise for throughput, with the same
 * guarantees: idempotent acks=all producing, read_committed consuming, one transaction per fetched batch with the
 * consumer offsets inside it. The harness times the calls and checks the results; drivers do no timing.
 *
 * A driver module default-exports a `DriverFactory`. It runs in a child process of its own, one workload or probe
 * step per process (bench/kafka-clients/child.ts), so nothing needs to be cleaned up between calls beyond `close`.
 * Every driver uses the timeouts below, so that the probes mean the same thing for every client.
 */

/** Transaction timeout of every transactional producer: far above how long any probe keeps a transaction open. */
export const TRANSACTION_TIMEOUT_MS = 60_000;
/** Group session timeout (the broker's minimum by default): how long a stopped member keeps its partitions. */
export const SESSION_TIMEOUT_MS = 6_000;
export const HEARTBEAT_INTERVAL_MS = 1_000;
/** How long a rebalance waits for members to rejoin. */
export const REBALANCE_TIMEOUT_MS = 20_000;

export interface BenchRecord {
  key: string;
  value: Buffer;
}

export interface DriverOptions {
  brokers: string[];
  clientId: string;
}

/** Optional progress callbacks of the consuming calls. A driver calls them; it never waits on them unless stated. */
export interface ConsumeHooks {
  /** Called once, when the first records arrived (after the group join), so the harness can leave the join out. */
  firstRecords?(): void;
}

export interface TransformBatch {
  /** 0, 1, 2, … in the order this member's transactions began. */
  index: number;
  records: number;
  /** Input partitions whose records are in this transaction. */
  partitions: number[];
}

export interface TransformHooks extends ConsumeHooks {
  /**
   * Called inside each transaction after the batch's records were forwarded (the sends resolved), before the
   * consumer offsets are added; the driver awaits it. The zombie probe stops the process here.
   */
  forwarded?(batch: TransformBatch): Promise<void>;
  /** Called inside the transaction after the offsets were added, before the commit; the driver awaits it. */
  offsetsAdded?(batch: TransformBatch): Promise<void>;
  /** Called after the transaction committed. */
  committed?(batch: TransformBatch): void;
}

export interface ClientDriver {
  /** 'kafkajs' | 'platformatic' | 'confluent' */
  readonly name: string;
  /** The installed package version, read from its package.json. */
  readonly version: string;

  /** One idempotent acks=all producer; sends every record (key partitioner, murmur2), resolves once all are acked. */
  produce(topic: string, records: BenchRecord[]): Promise<void>;

  /** One consumer in a fresh group from the earliest offset; resolves after `count` records were received. */
  consume(topic: string, groupId: string, count: number, hooks?: ConsumeHooks): Promise<void>;

  /**
   * The processor's loop without the processing: a read_committed group consumer of `input`; each fetched batch is
   * forwarded to `output` (same key and value) in ONE transaction together with the batch's consumer offsets
   * (sendOffsets / addOffsets with the group), then committed. Resolves after `count` input records were committed.
   * Starts from the group's committed offsets (earliest when there are none). A failed step aborts the
   * transaction and rejects with the error: no retry, the harness takes the failure as the outcome.
   */
  transform(opts: {
    input: string;
    output: string;
    groupId: string;
    transactionalId: string;
    count: number;
    hooks?: TransformHooks;
  }): Promise<void>;

  /** Probe: one idempotent producer, `batches.length` sends in flight at once (Promise.all); resolves when all acked. */
  sendConcurrently(topic: string, batches: BenchRecord[][]): Promise<void>;

  /** Probe: a transaction that sends `records` and aborts; then one that sends `committed` and commits. */
  abortThenCommit(
    topic: string,
    transactionalId: string,
    records: BenchRecord[],
    committed: BenchRecord[],
  ): Promise<void>;

  /**
   * Probe: opens a transaction with `transactionalId`, sends `records`, and resolves WITHOUT committing (the harness
   * runs this in a child process and SIGKILLs it after it resolves).
   */
  openTransaction(topic: string, transactionalId: string, records: BenchRecord[]): Promise<void>;

  /** Probe: a successor with the same `transactionalId`: initialises (fencing the old one), sends `records`, commits. */
  commitAsSuccessor(topic: string, transactionalId: string, records: BenchRecord[]): Promise<void>;

  /**
   * KIP-447 support: true when the client sends the consumer group metadata (generation, member id) with
   * TxnOffsetCommit, so the broker fences a zombie whose partition moved. The harness checks the claim by a probe.
   */
  readonly groupMetadataInTransactions: boolean;

  close(): Promise<void>;
}

export type DriverFactory = (opts: DriverOptions) => Promise<ClientDriver>;
