import {
  type ActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  log,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { LakeActivities } from '../activities/lake.ts';
import type { LoadDayInput, LoadDayOutcome, WarehouseActivities } from '../activities/warehouse.ts';
import { runChild as compactChild } from './compaction.ts';
import {
  closedBeforeUs,
  failureMessage,
  partitionParts,
  SEARCH_ATTRIBUTES,
  tableNames,
  WAREHOUSE_TABLE_OF,
  WORKFLOW_IDS,
} from './constants.ts';
import { defaultLakeTables } from './default-tables.ts';

// Finding days reads the lake's snapshot and the ledger: quick, retried briefly. Loading a day stages its files and
// swaps the day in: minutes for a busy day, heartbeating, retried long enough to ride out a BigQuery or S3 outage.
const findOptions = (t: LoadTuning = {}): ActivityOptions => ({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: t.retryInitialMs ?? '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: t.retryMaximumMs ?? '1 minute',
    maximumAttempts: 8,
  },
});
const loadOptions = (t: LoadTuning = {}): ActivityOptions => ({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: t.heartbeatTimeoutMs ?? '2 minutes',
  retry: {
    initialInterval: t.retryInitialMs ?? '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: t.retryMaximumMs ?? '5 minutes',
    maximumAttempts: 20,
  },
});
const { findWarehouseDays } = proxyActivities<WarehouseActivities>(findOptions());
const { loadWarehouseDay } = proxyActivities<WarehouseActivities>(loadOptions());

/**
 * Shorter waits for the loads' activities than the defaults above, for fault tests that stop a server or kill a
 * worker and must see the retry within seconds. Production leaves it unset (the schedules pass no tuning).
 */
export interface LoadTuning {
  /** The load activity's heartbeat timeout (default 2 minutes): how soon a dead worker's load is retried elsewhere. */
  heartbeatTimeoutMs?: number;
  /** The first retry interval of both activities (defaults 2 s to find days, 5 s to load one). */
  retryInitialMs?: number;
  /** The longest retry interval of both activities (defaults 1 minute, 5 minutes). */
  retryMaximumMs?: number;
}

/** A day's load workflow input: the activity's, and the tuning its activity runs with. */
export interface WarehouseLoadInput extends LoadDayInput {
  tuning?: LoadTuning;
}
const { findCompactionCandidates } = proxyActivities<LakeActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});

export interface WarehouseLoadSweepInput {
  /** Warehouse table names; default: every table. */
  tables?: string[];
  /** Days loaded at once. */
  concurrency?: number;
  /** Children per run; past it the sweep continues as new, so its history stays small. */
  maxPerRun?: number;
  /** Carried across continue-as-new: `table/day`s that failed in this sweep, not retried by it. */
  failed?: string[];
  /** Passed to every day's load (tests only). */
  tuning?: LoadTuning;
}

export interface WarehouseLoadSweepResult {
  loaded: number;
  unchanged: number;
  failed: string[];
  /** Days a still-running load (of an earlier sweep or a backfill) already owned. */
  skippedRunning: number;
}

function dayAttributes(input: LoadDayInput) {
  return [
    { key: SEARCH_ATTRIBUTES.table, value: input.table },
    { key: SEARCH_ATTRIBUTES.partition, value: `dt=${input.day}` },
    { key: SEARCH_ATTRIBUTES.date, value: new Date(`${input.day}T00:00:00Z`) },
  ];
}

/** Loads `items`, a few at a time, each in a child named after its table and day. */
async function loadDays(
  items: LoadDayInput[],
  concurrency: number,
  tuning?: LoadTuning,
): Promise<WarehouseLoadSweepResult> {
  const result: WarehouseLoadSweepResult = { loaded: 0, unchanged: 0, failed: [], skippedRunning: 0 };
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        const child = await startChild(warehouseLoadWorkflow, {
          workflowId: WORKFLOW_IDS.warehouseLoad(item.table, item.day),
          args: [tuning ? { ...item, tuning } : item],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: dayAttributes(item),
        });
        const outcome = await child.result();
        if (outcome.status === 'loaded') result.loaded++;
        else result.unchanged++;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) result.skippedRunning++;
        else {
          // A child's failure says only "Child Workflow execution failed"; its cause names the file and column.
          log.warn('warehouse load failed', { ...item, error: failureMessage(err) });
          result.failed.push(`${item.table}/${item.day}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, lane));
  return result;
}

/**
 * Every 15 minutes: loads each day whose lake data changed since its last load (today's, mostly; a day compaction
 * rewrote is checked and found unchanged), one child workflow per day (`load/<table>/<day>`).
 */
export async function warehouseLoadSweepWorkflow(
  input: WarehouseLoadSweepInput = {},
): Promise<WarehouseLoadSweepResult> {
  const tables = input.tables ?? defaultLakeTables().map((t) => WAREHOUSE_TABLE_OF[t]);
  const failed = new Set(input.failed ?? []);
  const find = input.tuning
    ? proxyActivities<WarehouseActivities>(findOptions(input.tuning)).findWarehouseDays
    : findWarehouseDays;
  const work: LoadDayInput[] = [];
  for (const table of tables) {
    for (const day of await find({ table })) {
      if (!failed.has(`${table}/${day}`)) work.push({ table, day });
    }
  }
  const batch = work.slice(0, input.maxPerRun ?? 100);
  const result = await loadDays(batch, input.concurrency ?? 2, input.tuning);
  if (work.length > batch.length) {
    await continueAsNew<typeof warehouseLoadSweepWorkflow>({ ...input, failed: [...failed, ...result.failed] });
  }
  return result;
}

/** One table's day: the load activity, and its outcome as a search attribute for the Temporal UI. */
export async function warehouseLoadWorkflow(input: WarehouseLoadInput): Promise<LoadDayOutcome> {
  const { tuning, ...day } = input;
  if (!workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.table)) {
    upsertSearchAttributes(dayAttributes(day));
  }
  const load = tuning ? proxyActivities<WarehouseActivities>(loadOptions(tuning)).loadWarehouseDay : loadWarehouseDay;
  try {
    const outcome = await load(day);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: outcome.status }]);
    return outcome;
  } catch (err) {
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: 'failed' }]);
    // A non-retryable failure names the file and column: make it this run's failure, on the day's own row.
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) throw err.cause;
    throw err;
  }
}

export interface BackfillInput {
  /** Lake (`raw`) or warehouse (`ticks`) table name. */
  table: string;
  from: string;
  to: string;
  /** Compact the range's closed partitions with small files first (default true). */
  compact?: boolean;
  concurrency?: number;
}

export interface BackfillResult {
  compacted: number;
  compactionFailed: string[];
  loads: WarehouseLoadSweepResult;
}

/**
 * Re-runs a range of days: compacts their partitions that have small files, then loads every lake day of the range
 * whether or not the ledger calls it unchanged (the load replaces each day, so the result is the same rows).
 */
export async function backfillWorkflow(input: BackfillInput): Promise<BackfillResult> {
  const names = tableNames(input.table);
  if (!names) throw ApplicationFailure.nonRetryable(`unknown table ${JSON.stringify(input.table)}`, 'INPUT_INVALID');
  const concurrency = input.concurrency ?? 2;
  let compacted = 0;
  const compactionFailed: string[] = [];
  if (input.compact ?? true) {
    const candidates = await findCompactionCandidates({
      table: names.lake,
      closedBeforeUs: closedBeforeUs(Date.now()),
      minFiles: 2,
    });
    const inRange = candidates.filter((c) => {
      const day = partitionParts(c.partition)?.day;
      return day !== undefined && day >= input.from && day <= input.to;
    });
    for (const c of inRange) {
      const outcome = await compactChild({ table: names.lake, partition: c.partition });
      if (outcome === 'failed') compactionFailed.push(c.partition);
      else if (outcome !== 'running' && outcome.status === 'committed') compacted++;
    }
  }
  const days = await findWarehouseDays({ table: names.warehouse, from: input.from, to: input.to, all: true });
  const loads = await loadDays(
    days.map((day) => ({ table: names.warehouse, day, force: true })),
    concurrency,
  );
  return { compacted, compactionFailed, loads };
}
