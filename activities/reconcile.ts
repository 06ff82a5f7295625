import { Context } from '@temporalio/activity';
import type { ModelScorer } from '../core/alerts/engine.ts';
import type { Config } from '../core/config.ts';
import { TickLakeError } from '../core/errors.ts';
import { HOUR_US } from '../core/partition-path.ts';
import { pipelineOptionsFrom } from '../core/pipeline.ts';
import type { Difference } from '../core/reconcile/compare.ts';
import {
  ALERT_SLACK_US,
  leadInStartUs,
  reconcile,
  tailEndUs,
  type ReconcileResult,
  type TableCoverage,
} from '../core/reconcile/reconcile.ts';
import type { ReplayOptions } from '../core/reconcile/replay.ts';
import type { Alert } from '../core/schemas/alert.ts';
import type { Bar } from '../core/schemas/bar.ts';
import type { DifferenceClass, ReconciledTable, ReconciliationRow } from '../core/schemas/reconciliation.ts';
import type { Tick } from '../core/schemas/tick.ts';
import { loadRulesFile, rulesFilePath } from '../infra/alerts/rules-file.ts';
import { loadShippedReference } from '../infra/reference-file.ts';
import { ANOMALY_SCORER, historicalScorer } from '../core/models/score.ts';
import { readModelHistory } from '../lake/models.ts';
import { lakeStats, readRows } from '../lake/reader.ts';
import type { Storage } from '../lake/storage/storage.ts';
import { alertsTable, barsTable, rawTable, reconciliationTable, type TableDef } from '../lake/tables.ts';
import { LakeWriter } from '../lake/writer.ts';

/**
 * The reconciliation's edge: reads the window range's raw ticks (with the lead-in and tail the replay needs), the
 * stream's bars and alerts and each table's coverage from the lake, runs the pure reconciliation, and appends its
 * rows to the `reconciliation` table. Used by the activity (the scheduled workflow) and by `ticklake reconcile`.
 * Idempotent: a retry writes rows with the same key and run time, of which readers keep one.
 */
export interface ReconcileDeps {
  storage: Storage;
  config: Config;
  /**
   * Scorers for `model_score` rules. Default: the anomaly model, each bar scored with the version that was live when
   * it closed (core/models/score.ts historicalScorer over the lake's models/).
   */
  scorers?: Readonly<Record<string, ModelScorer>>;
  /** Called while the lake is read and the replay runs: the activity heartbeats with it. */
  progress?: (what: string) => void;
}

export interface ReconcileWindowsInput {
  fromUs: number;
  toUs: number;
  runId: string;
  /** Wall time the run started, µs (the workflow's clock, so a retry writes the same rows). */
  runTs: number;
  /** Default true. */
  write?: boolean;
}

export type ClassCounts = Record<DifferenceClass, number>;

export interface ReconcileSummary {
  fromUs: number;
  toUs: number;
  runId: string;
  /** Differences by stream table and class. */
  totals: Record<
    ReconciledTable,
    ClassCounts & { batchRows: number; streamRows: number; matched: number; lateTicks: number }
  >;
  rows: number;
  /** The first differences, disagreements first (the rows hold a few per partition). */
  examples: Difference[];
  replayed: ReconcileResult['counts'];
  written: boolean;
}

const MINUTE_US = 60_000_000;

/** The latest time windows are closed by: past the lateness, out-of-orderness, the sink's flush and a margin. */
export function closedBeforeUs(config: Config, nowUs: number): number {
  const p = config.processor;
  const settle =
    (p.allowedLatenessMs + p.outOfOrdernessMs + config.sink.maxAgeMs + config.reconciliation.boundarySlackMs) * 1000 +
    config.reconciliation.settleMs * 1000;
  return nowUs - settle;
}

/** The last `hours` whole hours that are closed at `nowUs`. */
export function closedHours(config: Config, nowUs: number, hours: number): { fromUs: number; toUs: number } {
  const closed = closedBeforeUs(config, nowUs);
  const toUs = closed - (closed % HOUR_US);
  return { fromUs: toUs - hours * HOUR_US, toUs };
}

async function replayOptions(deps: ReconcileDeps, fromUs: number, toUs: number): Promise<ReplayOptions> {
  const { config } = deps;
  const pipeline = pipelineOptionsFrom(config);
  const { rules } = loadRulesFile(rulesFilePath(config));
  // The processor consults the symbol master only to apply the `dlq` policy; with `accept` no reference changes a bar.
  const reference =
    config.processor.unknownSymbols === 'dlq' ? new Map(loadShippedReference().map((r) => [r.symbol, r])) : undefined;
  const scorers = deps.scorers ?? {
    [ANOMALY_SCORER]: historicalScorer(await readModelHistory(deps.storage, fromUs / 1000, toUs / 1000)),
  };
  return { pipeline, rules, scorers, reference };
}

async function coverageOf(storage: Storage, table: string): Promise<TableCoverage> {
  const stats = await lakeStats(storage, table);
  const parts = stats.partitions.filter((p) => p.rows > 0);
  return {
    partitions: new Set(parts.map((p) => p.partition)),
    maxTs: parts.length ? Math.max(...parts.map((p) => p.maxTs)) : null,
  };
}

async function collect<Row>(deps: ReconcileDeps, def: TableDef<Row>, fromUs: number, toUs: number): Promise<Row[]> {
  const out: Row[] = [];
  for await (const { partition, rows } of readRows(deps.storage, def, { fromUs, toUs })) {
    for (const r of rows) out.push(r);
    deps.progress?.(`${def.name} ${partition}`);
  }
  return out;
}

export async function reconcileWindows(deps: ReconcileDeps, input: ReconcileWindowsInput): Promise<ReconcileSummary> {
  const { fromUs, toUs } = input;
  if (!(fromUs < toUs) || fromUs % MINUTE_US !== 0 || toUs % MINUTE_US !== 0) {
    throw new TickLakeError('INPUT_INVALID', 'the window range must be whole minutes with from < to', {
      details: { fromUs, toUs },
    });
  }
  const closed = closedBeforeUs(deps.config, input.runTs);
  if (toUs > closed) {
    throw new TickLakeError(
      'INPUT_INVALID',
      `windows up to ${new Date(toUs / 1000).toISOString()} are not closed yet: the latest closed time is ` +
        `${new Date(closed / 1000).toISOString()} (allowed lateness, sink flush and reconciliation.settleMs)`,
      { details: { toUs, closedBeforeUs: closed } },
    );
  }
  const slackUs = deps.config.reconciliation.boundarySlackMs * 1000;
  const leadInUs = deps.config.reconciliation.leadInMinutes * MINUTE_US;
  const replay = await replayOptions(deps, leadInStartUs(fromUs, leadInUs), toUs);
  const [rawCov, barsCov, alertsCov] = await Promise.all([
    coverageOf(deps.storage, 'raw'),
    coverageOf(deps.storage, 'bars'),
    coverageOf(deps.storage, 'alerts'),
  ]);
  const raw = await collect<Tick>(deps, rawTable, leadInStartUs(fromUs, leadInUs), tailEndUs(toUs, replay, slackUs));
  const bars = await collect<Bar>(deps, barsTable, fromUs, toUs);
  const alerts = await collect<Alert>(deps, alertsTable, fromUs - ALERT_SLACK_US, toUs + ALERT_SLACK_US);
  deps.progress?.('replay');
  const result = reconcile({
    fromUs,
    toUs,
    raw,
    bars,
    alerts,
    coverage: { raw: rawCov, bars: barsCov, alerts: alertsCov },
    replay,
    boundarySlackUs: slackUs,
    run: { id: input.runId, ts: input.runTs },
  });
  const write = input.write ?? true;
  if (write) await writeRows(deps.storage, result.rows, input.runTs);
  return summarize(input, result, write);
}

/**
 * Appends the rows as one file. The reconciliation is not fed from Kafka, so its "source range" is a run counter
 * on a topic of its own: the run time in µs, or the next free offset when a concurrent run already passed it.
 */
export async function writeRows(storage: Storage, rows: readonly ReconciliationRow[], runTs: number): Promise<void> {
  const lake = new LakeWriter(storage);
  for (let attempt = 1; ; attempt++) {
    const next = (await lake.committedOffsets(reconciliationTable)).find((o) => o.partition === 0);
    const offset = BigInt(Math.max(runTs, next ? Number(next.nextOffset) : 0));
    const range = { topic: 'reconciliation', partition: 0, startOffset: String(offset), endOffset: String(offset) };
    try {
      await lake.commit(reconciliationTable, await lake.writeFile(reconciliationTable, rows, range));
      return;
    } catch (err) {
      // Another run took this offset between our read and our commit: take the next one.
      if (!(err instanceof TickLakeError && err.code === 'OFFSET_OVERLAP') || attempt >= 5) throw err;
    }
  }
}

function summarize(input: ReconcileWindowsInput, r: ReconcileResult, written: boolean): ReconcileSummary {
  const zero = () => ({
    late: 0,
    missing_partition: 0,
    disagreement: 0,
    batchRows: 0,
    streamRows: 0,
    matched: 0,
    lateTicks: 0,
  });
  const totals = { bars: zero(), alerts: zero() };
  for (const row of r.rows) {
    const t = totals[row.table];
    t.late += row.late;
    t.missing_partition += row.missingPartition;
    t.disagreement += row.disagreement;
    t.batchRows += row.batchRows;
    t.streamRows += row.streamRows;
    t.matched += row.matched;
    t.lateTicks += row.lateTicks;
  }
  const rank = (d: Difference) => (d.class === 'disagreement' ? 0 : d.class === 'missing_partition' ? 1 : 2);
  return {
    fromUs: input.fromUs,
    toUs: input.toUs,
    runId: input.runId,
    totals,
    rows: r.rows.length,
    examples: [...r.differences].sort((a, b) => rank(a) - rank(b)).slice(0, 20),
    replayed: r.counts,
    written,
  };
}

export function createReconcileActivities(deps: ReconcileDeps) {
  return {
    /** The last `hours` closed hours by the worker's clock and config (recorded in the workflow's history). */
    async closedReconciliationRange(input: { hours: number }): Promise<{ fromUs: number; toUs: number }> {
      return closedHours(deps.config, Date.now() * 1000, input.hours);
    },
    async reconcileWindows(input: ReconcileWindowsInput): Promise<ReconcileSummary> {
      const ctx = Context.current();
      return reconcileWindows({ ...deps, progress: (what) => ctx.heartbeat(what) }, input);
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
