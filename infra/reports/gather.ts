import type { Admin, Kafka } from 'kafkajs';
import { TickLakeError } from '../../core/errors.ts';
import {
  dayRangeUs,
  type LakeTableFacts,
  type PipelineFacts,
  type Unavailable,
  type WarehouseDayFacts,
} from '../../core/reports/model.ts';
import type { Alert } from '../../core/schemas/alert.ts';
import type { Bar } from '../../core/schemas/bar.ts';
import { loadSnapshot, snapshotDays, snapshotFiles } from '../../lake/manifest.ts';
import { readRows } from '../../lake/reader.ts';
import type { Storage } from '../../lake/storage/storage.ts';
import { alertsTable, anomaliesTable, barsTable, TABLES } from '../../lake/tables.ts';
import type { StoredAnomalyRow } from '../../core/schemas/model.ts';
import { warehouseFreshness } from '../../warehouse/freshness.ts';
import { WAREHOUSE_TABLES } from '../../warehouse/tables.ts';
import type { Warehouse } from '../../warehouse/warehouse.ts';

/**
 * What a day's report is built from, read at the edges: the day's bars and alerts from the lake (latest revision per
 * bar, one row per alert id), the lake's own manifest per table, Kafka's dead-letter and late-trade counts, the
 * warehouse's load ledger. The lake is required; the others are facts about the pipeline that a report states as
 * unavailable, with the reason, when their server does not answer within `timeoutMs`.
 */
export interface GatherDeps {
  storage: Storage;
  /** For the dead-letter and late counts (an admin is connected per report); absent = not reported. */
  kafka?: { client: Kafka; dlqTopic: string; lateTopic: string };
  warehouse?: Warehouse;
  timeoutMs?: number;
}

export interface Gathered {
  bars: Bar[];
  alerts: Alert[];
  scored: StoredAnomalyRow[];
  pipeline: PipelineFacts;
}

async function collect<Row>(
  storage: Storage,
  def: typeof barsTable | typeof alertsTable | typeof anomaliesTable,
  date: string,
): Promise<Row[]> {
  const out: Row[] = [];
  for await (const { rows } of readRows(storage, def as never, dayRangeUs(date))) out.push(...(rows as Row[]));
  return out;
}

export async function lakeFacts(storage: Storage, date: string): Promise<LakeTableFacts[]> {
  const day = `dt=${date}`;
  const out: LakeTableFacts[] = [];
  for (const table of Object.keys(TABLES)) {
    const snap = await loadSnapshot(storage, table);
    const files = snap
      ? await snapshotFiles(
          storage,
          snap,
          (ref) => ref.partition.startsWith(`${day}/`),
          (d) => d.day === day,
        )
      : [];
    out.push({
      table,
      hours: new Set(files.map((f) => f.partition)).size,
      files: files.length,
      compactedFiles: files.filter((f) => f.path.includes('/compacted-')).length,
      rows: files.reduce((n, f) => n + f.rows, 0),
      bytes: files.reduce((n, f) => n + f.bytes, 0),
    });
  }
  return out;
}

function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `work`'s answer, or why there is none within `ms`. With a Kafka client, `work` gets an admin of its own, which is
 * disconnected when the time is up too, so a broker that does not answer leaves nothing retrying behind.
 */
async function orUnavailable<T>(
  what: string,
  ms: number,
  work: (admin: Admin) => Promise<T>,
  kafka?: Kafka,
): Promise<T | Unavailable> {
  const admin = kafka?.admin();
  try {
    return await withTimeout(
      what,
      ms,
      (async () => {
        await admin?.connect();
        return work(admin!);
      })(),
    );
  } catch (err) {
    return { unavailable: `${what}: ${(err as Error).message}` };
  } finally {
    await admin?.disconnect().catch(() => undefined);
  }
}

/**
 * Records appended to `topic` during [fromMs, toMs): the offsets at each end by timestamp, summed over partitions.
 * Kafka answers -1 for a time past the last record: that end is then the high watermark.
 */
export async function recordsBetween(admin: Admin, topic: string, fromMs: number, toMs: number): Promise<number> {
  const [from, to, high] = await Promise.all([
    admin.fetchTopicOffsetsByTimestamp(topic, fromMs),
    admin.fetchTopicOffsetsByTimestamp(topic, toMs),
    admin.fetchTopicOffsets(topic),
  ]);
  const hi = new Map(high.map((p) => [p.partition, Number(p.high)]));
  const at = (list: { partition: number; offset: string }[]) =>
    new Map(list.map((p) => [p.partition, p.offset === '-1' ? hi.get(p.partition)! : Number(p.offset)]));
  const start = at(from);
  const end = at(to);
  let n = 0;
  for (const [p, e] of end) n += Math.max(0, e - (start.get(p) ?? e));
  return n;
}

async function warehouseFacts(wh: Warehouse, storage: Storage, date: string): Promise<WarehouseDayFacts[]> {
  const fresh = new Map((await warehouseFreshness(wh, storage)).map((f) => [f.table, f.maxEventUs]));
  const out: WarehouseDayFacts[] = [];
  for (const t of WAREHOUSE_TABLES) {
    const entry = (await wh.ledger(t.name, [date])).get(date);
    out.push({
      table: t.name,
      loadedRows: entry?.rows ?? null,
      lastLoadMs: entry?.recordedAt ?? null,
      freshUntilUs: fresh.get(t.name) ?? null,
    });
  }
  return out;
}

/** The day's bars and alerts, then (only when there are bars) the pipeline facts. */
export async function gatherDay(deps: GatherDeps, date: string): Promise<Gathered> {
  const [bars, alerts, scored] = await Promise.all([
    collect<Bar>(deps.storage, barsTable, date),
    collect<Alert>(deps.storage, alertsTable, date),
    collect<StoredAnomalyRow>(deps.storage, anomaliesTable, date),
  ]);
  if (bars.length === 0) return { bars, alerts, scored, pipeline: { lake: [], kafka: none, warehouse: none } };
  return { bars, alerts, scored, pipeline: await pipelineFacts(deps, date) };
}

const none: Unavailable = { unavailable: 'not asked' };

export async function pipelineFacts(deps: GatherDeps, date: string): Promise<PipelineFacts> {
  const { fromUs, toUs } = dayRangeUs(date);
  const ms = deps.timeoutMs ?? 15_000;
  const k = deps.kafka;
  const wh = deps.warehouse;
  const [lake, kafka, warehouse] = await Promise.all([
    lakeFacts(deps.storage, date),
    k
      ? orUnavailable('Kafka', ms, (admin) => kafkaCounts(admin, k, fromUs / 1000, toUs / 1000), k.client)
      : { unavailable: 'not asked (no Kafka client given)' },
    wh
      ? orUnavailable('BigQuery', ms, () => warehouseFacts(wh, deps.storage, date))
      : { unavailable: 'not asked (no warehouse client given)' },
  ]);
  return { lake, kafka, warehouse };
}

async function kafkaCounts(
  admin: Admin,
  k: NonNullable<GatherDeps['kafka']>,
  fromMs: number,
  toMs: number,
): Promise<{ dlq: number; late: number }> {
  const topics = new Set(await admin.listTopics());
  // Asking for offsets of a topic that does not exist makes kafkajs retry its metadata for a long time.
  for (const t of [k.dlqTopic, k.lateTopic]) if (!topics.has(t)) throw new Error(`topic ${t} does not exist`);
  return {
    dlq: await recordsBetween(admin, k.dlqTopic, fromMs, toMs),
    late: await recordsBetween(admin, k.lateTopic, fromMs, toMs),
  };
}

/** The days that have bars, for an error that says which dates a report can be asked for. */
export async function daysWithBars(storage: Storage): Promise<string[]> {
  const snap = await loadSnapshot(storage, 'bars');
  // The snapshot's day refs: no day list or part manifest is read.
  return snap ? snapshotDays(snap).map((d) => d.day.slice(3)).sort() : [];
}

export function noDataError(date: string, days: readonly string[]): TickLakeError {
  const hint = days.length
    ? `the lake has bars for ${days.length} day(s), ${days[0]} to ${days.at(-1)}; pick one of those`
    : 'the lake has no bars at all: run the pipeline (npm start) or `ticklake sink --table bars` first';
  return new TickLakeError('INPUT_INVALID', `no bars in the lake for ${date}: ${hint}`, {
    details: { date, reason: 'no_data' },
  });
}

/**
 * The symbols the bars table's files of `date` name in the manifest (no data file is read): the report's expected
 * symbols are the previous day's, so a symbol that traded then and not at all on the report's day is listed silent.
 */
export async function symbolsOnDay(storage: Storage, date: string): Promise<string[]> {
  const snap = await loadSnapshot(storage, 'bars');
  if (!snap) return [];
  const day = `dt=${date}`;
  const files = await snapshotFiles(
    storage,
    snap,
    (ref) => ref.partition.startsWith(`${day}/`),
    (d) => d.day === day,
  );
  return [...new Set(files.flatMap((f) => f.symbols ?? []))].sort();
}
