/**
 * The contract every Kafka client under comparison implements (`npm run bench -- kafka-clients`). One driver per
 * client in `drivers/`, each configured the way the client's own docs advise for throughput, with the same
 * guarantees: idempotent acks=all producing, read_committed consuming, one transaction per fetched batch with the
 * consumer offsets inside it. The harness times the calls and checks the results; drivers do no timing.
 */

export interface BenchRecord {
  key: string;
  value: Buffer;
}

export interface DriverOptions {
  brokers: string[];
  clientId: string;
}

export interface ClientDriver {
  /** 'kafkajs' | 'platformatic' | 'confluent' */
  readonly name: string;
  /** The installed package version, read from its package.json. */
  readonly version: string;

  /** One idempotent acks=all producer; sends every record (key partitioner, murmur2), resolves once all are acked. */
  produce(topic: string, records: BenchRecord[]): Promise<void>;

  /** One consumer in a fresh group from the earliest offset; resolves after `count` records were received. */
  consume(topic: string, groupId: string, count: number): Promise<void>;

  /**
   * The processor's loop without the processing: a read_committed group consumer of `input`; each fetched batch is
   * forwarded to `output` (same key and value) in ONE transaction together with the batch's consumer offsets
   * (sendOffsets / addOffsets with the group), then committed. Resolves after `count` input records were committed.
   */
  transform(opts: {
    input: string;
    output: string;
    groupId: string;
    transactionalId: string;
    count: number;
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
