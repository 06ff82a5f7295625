import { z } from 'zod';
import { BAR_DEFAULTS } from './bars.ts';
import { DEDUPE_DEFAULTS } from './dedupe.ts';
import { UNKNOWN_SYMBOL_POLICIES } from './pipeline.ts';
import { listOf } from './schemas/list.ts';
import { DEFAULT_VALIDATION_LIMITS } from './validate.ts';
import { endpointSchema } from './webhooks/endpoint.ts';
import { DEFAULT_RETRY_SCHEDULE_MS } from './webhooks/schedule.ts';

/**
 * One schema for every setting (pure: the loader that reads files and the environment is infra/config.ts). Each leaf is also settable from the environment as
 * TICKLAKE_<SECTION>_<KEY> in upper snake case (see envNameFor), so the env names in
 * docker-compose.yml and docs are derived from this file, never typed by hand elsewhere.
 */
const port = z.coerce.number().int().min(1).max(65535);
const csv = listOf(z.string().min(1)).refine((l) => l.length > 0, 'at least one value');
/** A structured value that also accepts its JSON text (the environment). */
const jsonOr = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    if (!v.trim()) return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: `not JSON: ${(err as Error).message}`, input: v });
      return z.NEVER;
    }
  }, schema);
const bool = z.preprocess((v) => (typeof v === 'string' ? /^(1|true|yes|on)$/i.test(v) : v), z.boolean());

/** A memory size in DuckDB's syntax ('1GB', '512MiB'): DuckDB settings are validated against it here and in lake/. */
export const MEMORY_SIZE = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

/** Compacted file size; lake/compaction.ts's default is this too. */
export const DEFAULT_COMPACTION_TARGET_MB = 128;

export const configSchema = z.object({
  stack: z.object({
    // Machine-dependent, so no default here: the loader (infra/config.ts) supplies them from XDG dirs or home.
    cacheDir: z.string().min(1),
    stateDir: z.string().min(1),
    kafkaVersion: z.string().default('4.1.1'),
    temporalCliVersion: z.string().default('v1.5.1'),
    versitygwVersion: z.string().default('v1.7.0'),
    bigqueryEmulatorVersion: z.string().default('v0.8.1'),
    kafkaPort: port.default(9092),
    kafkaControllerPort: port.default(9093),
    temporalPort: port.default(7233),
    temporalUiPort: port.default(8233),
    temporalHttpPort: port.default(7243),
    temporalMetricsPort: port.default(7244),
    s3Port: port.default(7070),
    bigqueryPort: port.default(9050),
    bigqueryGrpcPort: port.default(9060),
    prometheusPort: port.default(9090),
    prometheus: bool.default(true),
    startTimeoutMs: z.coerce.number().int().positive().default(120_000),
  }),
  kafka: z
    .object({
      brokers: csv.default(['127.0.0.1:9092']),
      clientId: z.string().default('ticklake'),
    })
    .prefault({}),
  topics: z
    .object({
      // Namespaces every topic name (e.g. "staging." or a test run's prefix); empty in production by default.
      prefix: z
        .string()
        .regex(/^[\w.-]*$/)
        .default(''),
      partitions: z.coerce.number().int().min(1).max(1000).default(6),
      replicationFactor: z.coerce.number().int().min(1).max(7).default(1),
      retentionHours: z.coerce.number().positive().default(72),
      /** Dead letters and late trades (core/topics.ts retention 'audit'). */
      dlqRetentionHours: z.coerce
        .number()
        .positive()
        .default(24 * 14),
      alertsRetentionHours: z.coerce
        .number()
        .positive()
        .default(24 * 14),
    })
    .prefault({}),
  producer: z
    .object({
      /** Records held in memory before `send` makes the source wait: the backpressure bound. */
      maxBufferedRecords: z.coerce.number().int().positive().default(200_000),
      batchSize: z.coerce.number().int().positive().default(10_000),
      lingerMs: z.coerce.number().int().nonnegative().default(20),
      compression: z.enum(['none', 'gzip']).default('none'),
    })
    .prefault({}),
  processor: z
    .object({
      groupId: z.string().default('ticklake-processor'),
      // Defaults of the core's own options, so the core and config cannot disagree.
      dedupeCapacity: z.coerce.number().int().positive().default(DEDUPE_DEFAULTS.capacity),
      dedupeWindowMs: z.coerce
        .number()
        .int()
        .positive()
        .default(DEDUPE_DEFAULTS.windowUs / 1000),
      outOfOrdernessMs: z.coerce
        .number()
        .int()
        .nonnegative()
        .default(BAR_DEFAULTS.outOfOrdernessUs / 1000),
      allowedLatenessMs: z.coerce
        .number()
        .int()
        .nonnegative()
        .default(BAR_DEFAULTS.allowedLatenessUs / 1000),
      /**
       * Input partitions of one fetch processed at once, each in its own transaction (state is per partition). At 1,
       * a record waits for every other partition's commit before the next fetch; more cuts that wait but cost
       * backlog throughput on 2 cores (docs/DECISIONS.md §26).
       */
      concurrentPartitions: z.coerce.number().int().min(1).max(1000).default(1),
      /** A state snapshot rides in the transaction at most this often; recovery replays what came after it. */
      snapshotIntervalMs: z.coerce.number().int().positive().default(10_000),
      /** Event time may lead the record's Kafka timestamp by this much before it is dead-lettered. */
      maxAheadMs: z.coerce
        .number()
        .int()
        .nonnegative()
        .default((DEFAULT_VALIDATION_LIMITS.maxAheadUs ?? 0) / 1000),
      /** Event time may trail the record's Kafka timestamp by this much (0 = no limit, for replays). */
      maxBehindMs: z.coerce
        .number()
        .int()
        .nonnegative()
        .default((DEFAULT_VALIDATION_LIMITS.maxBehindUs ?? 0) / 1000),
      maxPayloadBytes: z.coerce.number().int().positive().default(DEFAULT_VALIDATION_LIMITS.maxBytes),
      /** A valid tick of a symbol the symbol master lacks: `accept` (enriched with nulls) or `dlq` (dead-lettered). */
      unknownSymbols: z.enum(UNKNOWN_SYMBOL_POLICIES).default('accept'),
      /** Warn (log + metric) when more than this share of a window of input records is dead-lettered. */
      dlqWarnShare: z.coerce.number().min(0).max(1).default(0.1),
    })
    .prefault({}),
  sink: z
    .object({
      /** A partition's buffered rows are written as one file set when any bound is reached. */
      maxRows: z.coerce.number().int().positive().default(200_000),
      maxBytes: z.coerce
        .number()
        .int()
        .positive()
        .default(64 * 1024 * 1024),
      /** Quiet partitions still flush after this long. */
      maxAgeMs: z.coerce.number().int().positive().default(10_000),
      /** Stop fetching while this many bytes wait for S3 (bounded memory when S3 is slow or down). */
      maxPendingBytes: z.coerce
        .number()
        .int()
        .positive()
        .default(128 * 1024 * 1024),
      /** Threads that decode and encode flushes to Parquet while the main thread keeps fetching. */
      encoderThreads: z.coerce.number().int().min(1).max(16).default(1),
      /** Consumer group is `<topics.prefix><groupPrefix>-<table>`; progress itself lives in the lake's manifest. */
      groupPrefix: z.string().min(1).default('ticklake-sink'),
    })
    .prefault({}),
  temporal: z
    .object({
      address: z.string().default('127.0.0.1:7233'),
      namespace: z.string().default('default'),
      taskQueue: z.string().default('ticklake'),
      /** The Temporal SDK's own log level (it logs every state change at INFO). */
      logLevel: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('WARN'),
    })
    .prefault({}),
  s3: z
    .object({
      endpoint: z.url().optional().default('http://127.0.0.1:7070'),
      region: z.string().default('us-east-1'),
      bucket: z.string().min(3).default('ticklake'),
      forcePathStyle: bool.default(true),
      // Local defaults only: the stack's own S3 server is started with these. Production sets them from the env.
      accessKeyId: z.string().min(1).default('ticklake'),
      secretAccessKey: z.string().min(1).default('ticklake-local-secret'),
      /** Key prefix of the lake inside the bucket ('' or ending in '/'). */
      lakePrefix: z
        .string()
        .regex(/^([\w.-]+\/)*$/, "'' or path segments ending in '/'")
        .default('lake/'),
      /**
       * The server enforces If-None-Match atomically under concurrency (AWS S3, MinIO): manifest commits are then
       * one conditional PUT. versitygw 1.7 does not (docs/LAKE.md), so the default commits by consensus instead.
       */
      atomicConditionalWrites: bool.default(false),
    })
    .prefault({}),
  compaction: z
    .object({
      /** Compacted files are cut at about this size. */
      targetMb: z.coerce.number().positive().default(DEFAULT_COMPACTION_TARGET_MB),
      /** Threads of the embedded DuckDB that rewrites partitions (it shares the machine with everything else). */
      duckdbThreads: z.coerce.number().int().min(1).max(256).default(2),
      /** DuckDB spills sorts beyond this to a private temp dir; DuckDB size syntax. */
      duckdbMemoryLimit: z.string().regex(MEMORY_SIZE, "a size like '1GB' or '512MiB'").default('1GB'),
      /** Where DuckDB spills and compaction stages its inputs (default: the OS temp directory). */
      duckdbTempDir: z.string().min(1).optional(),
    })
    .prefault({}),
  bigquery: z
    .object({
      projectId: z.string().default('ticklake-local'),
      apiEndpoint: z.url().optional().default('http://127.0.0.1:9050'),
      dataset: z.string().regex(/^\w+$/, 'letters, digits and underscores only').default('ticklake'),
      location: z.string().default('US'),
      /**
       * `gs://bucket/prefix/` where BigQuery can read the lake's object keys (the lake bucket on GCS): a day is then
       * one load job over its files' URIs. Unset: the loader reads each file from the lake and uploads it.
       */
      gcsLakeUri: z
        .string()
        .regex(/^gs:\/\/[a-z0-9._-]+\/([\w.-]+\/)*$/, "'gs://bucket/' or 'gs://bucket/prefix/'")
        .optional(),
      /** Files of one day uploaded into its staging table at once. */
      loadConcurrency: z.coerce.number().int().min(1).max(32).default(4),
    })
    .prefault({}),
  metrics: z
    .object({
      /** One port for whichever role runs (containers, tests); unset, each role listens on its own port below. */
      port: port.optional(),
      // Distinct per role so `ticklake process` and `ticklake sink` side by side don't collide.
      workerPort: port.default(9464),
      processPort: port.default(9465),
      sinkPort: port.default(9466),
      ingestPort: port.default(9467),
      alertsPort: port.default(9468),
      webhooksPort: port.default(9469),
      dashboardPort: port.default(9470),
      // Loopback by default; containers set 0.0.0.0 so Prometheus can reach them.
      host: z.string().default('127.0.0.1'),
      /** How often processors and sinks read their group's committed offsets and the high watermarks (lag). */
      lagIntervalMs: z.coerce.number().int().positive().default(10_000),
      /** How often the worker reads the load ledger for warehouse freshness. */
      freshnessIntervalMs: z.coerce.number().int().positive().default(60_000),
    })
    .prefault({}),
  health: z
    .object({
      /** A dependency (Kafka, S3, Temporal) failing for longer than this makes /healthz and /readyz answer 503. */
      unreachableAfterMs: z.coerce.number().int().positive().default(30_000),
      /** How often the worker asks Temporal whether it is there (the SDK retries its polls silently). */
      probeIntervalMs: z.coerce.number().int().positive().default(5_000),
    })
    .prefault({}),
  alerts: z
    .object({
      /** The alert rules file (YAML, docs/ALERTS.md), re-read on change; unset: the shipped infra/alerts/rules.yaml. */
      rulesFile: z.string().min(1).optional(),
      /** The speed layer's consumer group on ticks.raw (and the prefix of its transactional ids). */
      groupId: z.string().min(1).default('ticklake-alerts'),
      /** Like processor.snapshotIntervalMs, for the speed layer's state (alerts.state). */
      snapshotIntervalMs: z.coerce.number().int().positive().default(10_000),
      /**
       * Deliver webhooks from inside `ticklake alerts` (webhooks.endpoints, docs/WEBHOOKS.md), each batch's alerts as
       * soon as they are evaluated: the low-latency path. Off: run `ticklake webhooks` on the alerts topic instead.
       */
      deliverWebhooks: bool.default(true),
    })
    .prefault({}),
  webhooks: z
    .object({
      /**
       * Endpoints (docs/WEBHOOKS.md): `{ name, url, secretEnv, rules?, symbols?, minSeverity?, format?, concurrency?,
       * timeoutMs? }`; from the environment as JSON.
       */
      endpoints: jsonOr(z.array(endpointSchema)).default([]),
      /** Hosts endpoints may be on (exact, or `*.example.com`); anything else is refused at start. */
      allowedHosts: listOf(z.string().min(1)).default(['127.0.0.1', 'localhost']),
      /** Consumer group on `alerts` is `<topics.prefix><groupId>`. */
      groupId: z.string().min(1).default('ticklake-webhooks'),
      /** Waits after each failed attempt, ms (the first attempt is immediate); n waits = n + 1 attempts. */
      retryScheduleMs: listOf(z.coerce.number().int().nonnegative())
        .refine((l) => l.length > 0, 'at least one delay')
        .default([...DEFAULT_RETRY_SCHEDULE_MS]),
      retryJitter: z.coerce.number().min(0).max(1).default(0.2),
      /**
       * An alert whose event time is older than this when it is handed to delivery (a backlog after an outage, a
       * first start over retained history) is dead-lettered as `too_old` instead of sent; 0 = no limit (replays).
       */
      maxAlertAgeSec: z.coerce.number().int().nonnegative().default(900),
      /** A receiver's Retry-After is honoured up to this. */
      maxRetryAfterMs: z.coerce.number().int().nonnegative().default(3_600_000),
      /** Per endpoint unless the endpoint sets its own. */
      timeoutMs: z.coerce.number().int().positive().default(5_000),
      concurrency: z.coerce.number().int().min(1).max(256).default(4),
      /** Consecutive failed attempts that open an endpoint's circuit breaker, and how long it stays open. */
      breakerFailures: z.coerce.number().int().min(1).default(5),
      breakerCooldownMs: z.coerce.number().int().positive().default(30_000),
      /** `ticklake webhook-receiver`: where it listens, the env variables holding its secrets, replay defence. */
      receiverHost: z.string().default('127.0.0.1'),
      receiverPort: port.default(8787),
      receiverSecretEnv: listOf(z.string().min(1)).default(['TICKLAKE_WEBHOOK_SECRET']),
      receiverToleranceSec: z.coerce.number().int().positive().default(300),
      /** webhook-ids remembered to recognise replays and retries already received. */
      receiverSeenIds: z.coerce.number().int().positive().default(100_000),
    })
    .prefault({}),
  models: z
    .object({
      /** Training reads the bars of this many whole days before the training run's day. */
      windowDays: z.coerce.number().int().min(1).max(90).default(7),
      /** A symbol with fewer bars in the window gets no model (and is scored by nothing). */
      minBars: z.coerce.number().int().min(8).default(120),
      /**
       * A bar scoring at least this (residual z-score, core/models/) is `flagged` in the anomalies table; keep it equal
       * to the shipped model_score rule's threshold so the batch flags what the speed layer alerts on (a test checks).
       */
      threshold: z.coerce.number().positive().default(8),
    })
    .prefault({}),
  dashboard: z
    .object({
      /** Loopback by default; any other address needs `token` (the server refuses to start without one). */
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(3000),
      /**
       * The shared secret a browser or client presents (docs/OPERATIONS.md, Dashboard). Set it from the environment
       * (TICKLAKE_DASHBOARD_TOKEN), never in a file; required beyond loopback, optional on it.
       */
      token: z.string().min(16, 'at least 16 characters (e.g. openssl rand -hex 24)').optional(),
      /** Where pipeline-health links point; unset: the local stack's UI on stack.temporalUiPort. */
      temporalUiUrl: z.url().optional(),
      /** Each server's own consumer group is `<topics.prefix><groupPrefix>-<random>`: every instance sees everything. */
      groupPrefix: z.string().min(1).default('ticklake-dashboard'),
      /** Live prices are sent to browsers at most this often (ticks are folded in between). */
      pricesIntervalMs: z.coerce.number().int().min(100).default(1_000),
      /** How often pipeline health (lag, rates) is recomputed and sent. */
      healthIntervalMs: z.coerce.number().int().min(500).default(5_000),
      /** How often the last batch runs are read from Temporal. */
      runsIntervalMs: z.coerce.number().int().min(1_000).default(30_000),
    })
    .prefault({}),
  reports: z
    .object({
      /** Where daily reports land in the lake's bucket (s3.bucket): `<prefix>date=YYYY-MM-DD/report.{html,pdf}`. */
      prefix: z
        .string()
        .regex(/^([\w.-]+\/)+$/, "path segments ending in '/'")
        .default('reports/'),
      /** The Chromium that prints the PDF (Debian's `chromium` package; playwright-core drives it, nothing is downloaded). */
      chromiumPath: z.string().min(1).default('/usr/bin/chromium'),
      /** Print a PDF beside the HTML; off, only the HTML is written (a worker without Chromium). */
      pdf: bool.default(true),
      /** Rows in each ranking (gainers, losers, volume leaders). */
      top: z.coerce.number().int().min(1).max(100).default(10),
      /**
       * Announce each report here (a `report.published` event, signed like the alert webhooks: Standard Webhooks,
       * host checked against webhooks.allowedHosts). Unset: reports are written, not announced.
       */
      webhookUrl: z.url().optional(),
      /** Environment variables holding the announcement's `whsec_` secret (two while rotating). */
      webhookSecretEnv: listOf(z.string().min(1)).default(['TICKLAKE_REPORT_WEBHOOK_SECRET']),
      webhookTimeoutMs: z.coerce.number().int().positive().default(10_000),
    })
    .prefault({}),
  reconciliation: z
    .object({
      /**
       * Disagreements (differences neither late trades nor a missing partition explain) tolerated per table over
       * `metricsLookbackHours`: more makes `ticklake reconcile` exit 1 and fires TicklakeReconciliationMismatch.
       */
      tolerance: z.coerce.number().int().nonnegative().default(0),
      /**
       * Arrival-order noise allowed when judging a trade's lateness (the raw table orders by recvTs, not by Kafka
       * offset): a trade this close to its window's closing may have been kept or dropped; either is accepted.
       */
      boundarySlackMs: z.coerce.number().int().nonnegative().default(2_000),
      /** Replayed before the UTC day's start too, so rules with memory (cooldowns, baselines) are warm at midnight. */
      leadInMinutes: z.coerce.number().int().nonnegative().default(30),
      /**
       * A window is reconciled once it ended this long ago on top of the allowed lateness, the out-of-orderness and
       * the sink's flush age: then no trade can still change its bar in the lake.
       */
      settleMs: z.coerce.number().int().nonnegative().default(60_000),
      /** The worker's `ticklake_reconciliation_*` gauges sum the latest rows of partitions this recent. */
      metricsLookbackHours: z.coerce.number().int().positive().default(24),
      /** How often the worker reads the reconciliation table for those gauges. */
      metricsIntervalMs: z.coerce.number().int().positive().default(60_000),
    })
    .prefault({}),
  log: z
    .object({
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
/** A layer of settings (profile, file, overrides): any subset of the sections and keys. */
export type ConfigInput = DeepPartial<z.input<typeof configSchema>>;

/** Keys whose values must never be printed. */
export const SECRET_KEYS = new Set(['s3.secretAccessKey', 's3.accessKeyId', 'dashboard.token']);

export function envNameFor(path: string): string {
  return (
    'TICKLAKE_' +
    path
      .split('.')
      .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
      .join('_')
  );
}

/** Every leaf path of the schema, e.g. "kafka.brokers". */
export function configPaths(): string[] {
  const paths: string[] = [];
  for (const [section, schema] of Object.entries(configSchema.shape)) {
    const inner = unwrap(schema) as z.ZodObject;
    for (const key of Object.keys(inner.shape)) paths.push(`${section}.${key}`);
  }
  return paths;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  while (!(s instanceof z.ZodObject)) {
    const def = (s as unknown as { def: { innerType?: z.ZodType } }).def;
    if (!def.innerType) break;
    s = def.innerType;
  }
  return s;
}

/** A copy safe to print: secrets masked. */
export function redactConfig(config: Config): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, values] of Object.entries(config)) {
    out[section] = {};
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      out[section][key] = SECRET_KEYS.has(`${section}.${key}`) ? '***' : value;
    }
  }
  return out;
}
