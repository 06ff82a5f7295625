import { connect } from 'node:net';
import type { Config } from '../core/config.ts';
import { Kafka, logLevel } from 'kafkajs';
import { lakeStorage, warehouseDeps } from '../infra/clients.ts';
import type { HealthReport } from '../infra/health.ts';
import { METRICS_ROLES, metricsPortFor, type MetricsRole } from '../infra/metrics-server.ts';
import { stackStatus, type ServiceStatus } from '../infra/stack/stack.ts';
import { partitionLag } from '../streaming/kafka/consumer-lag.ts';
import { sinkGroupId } from '../streaming/sink/sink.ts';
import { SINK_TABLES } from '../streaming/sink/tables.ts';
import { topicName } from '../streaming/topics.ts';
import { warehouseFreshness } from '../warehouse/freshness.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { batchSchedules } from '../workflows/schedules.ts';
import { Client, Connection } from '@temporalio/client';
import { closeDuckDb } from '../lake/duckdb.ts';
import type { SinkTableName } from '../lake/tables.ts';

/**
 * `ticklake status`: everything an operator checks first, gathered at once, each part on its own deadline so a
 * server that is down makes its part say so instead of hanging the whole screen. The JSON shape is the
 * StatusReport below (docs/CLI.md); fields are only ever added.
 */
export type Section<T> = ({ ok: true } & T) | { ok: false; error: string };

export interface ProcessStatus {
  role: MetricsRole;
  url: string;
  /** up: /healthz 200; unhealthy: it answered 503 (failing checks listed); down: nothing answered. */
  state: 'up' | 'unhealthy' | 'down';
  failing: string[];
}

export interface GroupLag {
  group: string;
  topic: string;
  /** Records behind, summed over partitions; null when the group has never committed. */
  lag: number | null;
  partitions: number;
  /** The broker's group state (Stable, Empty, Dead, ...), members consuming now. */
  state: string;
  members: number;
}

export interface BatchRun {
  workflowType: string;
  /** The schedule that starts it, when one does. */
  scheduleId: string | null;
  workflowId: string | null;
  /** RUNNING, COMPLETED, FAILED, TIMED_OUT, ...; null when it never ran. */
  status: string | null;
  startedAt: string | null;
  closedAt: string | null;
  /** The latest run that has finished, when the latest is still running (its outcome is what the last one did). */
  lastClosed: { workflowId: string; status: string; closedAt: string | null } | null;
}

export interface TableFreshnessStatus {
  table: string;
  /** Latest event time loaded into the warehouse. */
  maxEventAt: string | null;
  /** Seconds between that and now. */
  ageSec: number | null;
  /** When the load ledger last recorded a decision for the table. */
  lastLoadAt: string | null;
}

export interface StatusReport {
  generatedAt: string;
  /** False when a required stack service is not healthy or a part could not be read. */
  ok: boolean;
  stack: Section<{ services: ServiceStatus[] }>;
  processes: Section<{ processes: ProcessStatus[] }>;
  lag: Section<{ groups: GroupLag[] }>;
  batch: Section<{ runs: BatchRun[] }>;
  /** `note` says why there are no tables (no dataset yet). */
  freshness: Section<{ tables: TableFreshnessStatus[]; note?: string }>;
}

/** The stack services whose absence is not a failure (the stack runs fine without them). */
const OPTIONAL_SERVICES = new Set(['prometheus']);

async function section<T>(timeoutMs: number, what: string, fn: () => Promise<T>): Promise<Section<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return { ok: true, ...(await Promise.race([fn(), deadline])) };
  } catch (err) {
    return { ok: false, error: shortError(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** The error and its causes on one line, each said once (client errors often repeat their cause's message). */
function shortError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) {
    const m = e.message.split('\n')[0]!.slice(0, 300);
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
  }
  return parts.join(': ') || String(err);
}

/**
 * Whether anything listens at host:port, within `timeoutMs`. The clients retry a refused connection for seconds
 * (kafkajs, gRPC, the BigQuery client's backoff); status asks this first so a server that is down says so at once.
 */
export function tcpProbe(address: string, timeoutMs: number): Promise<void> {
  const { host, port } = hostPort(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`${host}:${port} ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`did not answer within ${timeoutMs} ms`));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'ECONNREFUSED' ? 'refused the connection (ECONNREFUSED)' : err.message),
    );
  });
}

function hostPort(address: string): { host: string; port: number } {
  if (/^[a-z]+:\/\//i.test(address)) {
    const u = new URL(address);
    return { host: u.hostname, port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
  }
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Resolves when at least one of the addresses answers; else rejects with why the first did not. */
async function anyAnswers(addresses: readonly string[], timeoutMs: number): Promise<void> {
  await Promise.any(addresses.map((a) => tcpProbe(a, timeoutMs))).catch((err: AggregateError) => {
    throw err.errors[0] as Error;
  });
}

export async function processStatuses(config: Config, timeoutMs: number): Promise<ProcessStatus[]> {
  return Promise.all(
    METRICS_ROLES.map(async (role): Promise<ProcessStatus> => {
      const { port } = metricsPortFor(config, role);
      const url = `http://${config.metrics.host}:${port}/healthz`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        const body = (await res.json().catch(() => undefined)) as HealthReport | undefined;
        // A port shared by every role (metrics.port) answers for whichever process holds it: trust its role field.
        if (body?.role && body.role !== role && config.metrics.port !== undefined) {
          return { role, url, state: 'down', failing: [] };
        }
        const failing = (body?.checks ?? [])
          .filter((c) => !c.ok)
          .map((c) => (c.detail ? `${c.name}: ${c.detail}` : c.name));
        return { role, url, state: res.status === 200 ? 'up' : 'unhealthy', failing };
      } catch {
        return { role, url, state: 'down', failing: [] };
      }
    }),
  );
}

/** Every consumer group ticklake runs, with the topic it reads. */
export function consumerGroups(config: Config): { group: string; topic: string }[] {
  return [
    { group: config.processor.groupId, topic: topicName(config, 'raw') },
    ...Object.entries(SINK_TABLES).map(([table, t]) => ({
      group: sinkGroupId(config, table as SinkTableName),
      topic: topicName(config, t.topic),
    })),
    { group: config.alerts.groupId, topic: topicName(config, 'raw') },
    { group: `${config.topics.prefix}${config.webhooks.groupId}`, topic: topicName(config, 'alerts') },
  ];
}

export async function consumerLag(config: Config): Promise<GroupLag[]> {
  const kafka = new Kafka({
    brokers: config.kafka.brokers,
    clientId: 'ticklake-status',
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = consumerGroups(config);
    const described = await admin.describeGroups(groups.map((g) => g.group));
    const existing = new Set((await admin.listTopics()).map(String));
    const out: GroupLag[] = [];
    for (const { group, topic } of groups) {
      const d = described.groups.find((x) => x.groupId === group);
      if (!existing.has(topic)) {
        out.push({ group, topic, lag: null, partitions: 0, state: 'no topic', members: 0 });
        continue;
      }
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: group, topics: [topic] }),
      ]);
      const byPartition = new Map(
        (committed.find((c) => c.topic === topic)?.partitions ?? [])
          .filter((p) => BigInt(p.offset) >= 0n)
          .map((p) => [p.partition, p.offset]),
      );
      const lag = byPartition.size
        ? ends.reduce((n, e) => n + partitionLag(e.high, e.low, byPartition.get(e.partition)), 0)
        : null;
      out.push({
        group,
        topic,
        lag,
        partitions: ends.length,
        state: d?.state ?? 'Unknown',
        members: d?.members.length ?? 0,
      });
    }
    return out;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** The latest run of each scheduled workflow type (and of backfills), from Temporal's visibility. */
export async function lastBatchRuns(config: Config, timeoutMs: number): Promise<BatchRun[]> {
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: timeoutMs });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const types: { workflowType: string; scheduleId: string | null }[] = [
      ...batchSchedules().map((s) => ({ workflowType: s.workflowType, scheduleId: s.id })),
      { workflowType: 'backfillWorkflow', scheduleId: null },
    ];
    return await Promise.all(
      types.map(async ({ workflowType, scheduleId }): Promise<BatchRun> => {
        const latest = async (query: string) => {
          for await (const w of client.workflow.list({ query, pageSize: 1 })) return w;
          return undefined;
        };
        const w = await latest(`WorkflowType = '${workflowType}'`);
        if (!w) {
          return {
            workflowType,
            scheduleId,
            workflowId: null,
            status: null,
            startedAt: null,
            closedAt: null,
            lastClosed: null,
          };
        }
        const closed =
          w.status.name === 'RUNNING'
            ? await latest(`WorkflowType = '${workflowType}' AND ExecutionStatus != 'Running'`)
            : undefined;
        return {
          workflowType,
          scheduleId,
          workflowId: w.workflowId,
          status: w.status.name,
          startedAt: w.startTime.toISOString(),
          closedAt: w.closeTime?.toISOString() ?? null,
          lastClosed: closed
            ? {
                workflowId: closed.workflowId,
                status: closed.status.name,
                closedAt: closed.closeTime?.toISOString() ?? null,
              }
            : null,
        };
      }),
    );
  } finally {
    await connection.close();
  }
}

export async function freshness(
  config: Config,
  now = Date.now(),
): Promise<{ tables: TableFreshnessStatus[]; note?: string }> {
  const storage = lakeStorage(config);
  try {
    const deps = warehouseDeps(config, storage);
    // Before the first `warehouse apply` there is no ledger to read: that is a state to report, not a failure.
    const [exists] = await deps.bigquery.dataset(config.bigquery.dataset).exists();
    if (!exists) {
      return {
        tables: [],
        note: `dataset ${config.bigquery.dataset} does not exist yet: run ticklake warehouse apply`,
      };
    }
    const tables = await warehouseFreshness(new Warehouse(deps), storage);
    const rows = tables.map((t) => ({
      table: t.table,
      maxEventAt: t.maxEventUs === null ? null : new Date(t.maxEventUs / 1000).toISOString(),
      ageSec: t.maxEventUs === null ? null : Math.round((now - t.maxEventUs / 1000) / 1000),
      lastLoadAt: t.lastRecordedMs === null ? null : new Date(t.lastRecordedMs).toISOString(),
    }));
    return { tables: rows };
  } finally {
    storage.client.destroy();
    await closeDuckDb();
  }
}

export async function gatherStatus(config: Config, opts: { timeoutMs?: number } = {}): Promise<StatusReport> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const probeMs = Math.min(timeoutMs, 1500);
  // The stack first and on its own: its health checks have 1-2 s deadlines that the other parts' work on a busy
  // machine would make them miss. A running service that fails is asked again (twice, a second apart), so a slow
  // answer is not reported as down; a stopped one is not.
  const stack = await section(timeoutMs * 2, 'stack', async () => {
    let services = await stackStatus({ config });
    for (let i = 0; i < 2 && services.some((s) => s.state === 'unhealthy'); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const again = await stackStatus({ config });
      services = services.map((s, j) => (s.state === 'unhealthy' ? again[j]! : s));
    }
    return { services };
  });
  const [processes, lag, batch, fresh] = await Promise.all([
    section(timeoutMs, 'processes', async () => ({
      processes: await processStatuses(config, Math.min(timeoutMs, 2000)),
    })),
    section(timeoutMs, 'Kafka', async () => {
      await anyAnswers(config.kafka.brokers, probeMs);
      return { groups: await consumerLag(config) };
    }),
    section(timeoutMs, 'Temporal', async () => {
      await tcpProbe(config.temporal.address, probeMs);
      return { runs: await lastBatchRuns(config, timeoutMs) };
    }),
    section(timeoutMs, 'BigQuery/S3', async () => {
      await Promise.all([tcpProbe(config.s3.endpoint, probeMs), tcpProbe(config.bigquery.apiEndpoint, probeMs)]);
      return await freshness(config);
    }),
  ]);
  const stackOk =
    stack.ok &&
    stack.services.every((s) => OPTIONAL_SERVICES.has(s.name) || s.state === 'healthy' || s.state === 'skipped');
  return {
    generatedAt: new Date().toISOString(),
    ok: stackOk && lag.ok && batch.ok && fresh.ok,
    stack,
    processes,
    lag,
    batch,
    freshness: fresh,
  };
}
