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
import type { CompactInput, CompactOutcome, LakeActivities } from '../activities/lake.ts';
import { closedBeforeUs, failureMessage, partitionParts, SEARCH_ATTRIBUTES, WORKFLOW_IDS } from './constants.ts';
import { defaultLakeTables } from './default-tables.ts';

// Finding candidates reads manifests only: quick, retried briefly. Compacting a partition rewrites it in DuckDB:
// minutes for a busy hour, heartbeating, and retried for long enough to ride out an S3 outage.
const { findCompactionCandidates } = proxyActivities<LakeActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});
// The heartbeat carries the compaction's progress: a retry after a lost worker resumes from it (activities/lake.ts).
const compactOptions = (t: CompactTuning = {}): ActivityOptions => ({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: t.heartbeatTimeoutMs ?? '1 minute',
  retry: {
    initialInterval: t.retryInitialMs ?? '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: t.retryMaximumMs ?? '5 minutes',
    maximumAttempts: 20,
  },
});

/**
 * Shorter waits for the compaction activity than the defaults, for fault tests that stop S3 or kill a worker and
 * must see the retry within seconds. Production leaves it unset (the schedules pass none).
 */
export interface CompactTuning {
  /** Default 1 minute: how soon a dead worker's compaction is retried elsewhere. */
  heartbeatTimeoutMs?: number;
  /** Default 5 s. */
  retryInitialMs?: number;
  /** Default 5 minutes. */
  retryMaximumMs?: number;
}

/** A partition's compaction workflow input: the activity's, and the tuning its activity runs with. */
export interface CompactPartitionInput extends CompactInput {
  tuning?: CompactTuning;
}

export interface CompactionSweepInput {
  /** Default: every lake table. */
  tables?: string[];
  /** A partition is compacted once it ended this long ago (default CLOSED_AFTER_MINUTES). */
  closedForMinutes?: number;
  /** Fewest small files worth a rewrite. */
  minFiles?: number;
  /** Partitions compacted at once. */
  concurrency?: number;
  /** Children per run; past it the sweep continues as new, so its history stays small. */
  maxPerRun?: number;
  /** Carried across continue-as-new: partitions that failed in this sweep, not retried by it. */
  failed?: string[];
  /** Passed to every partition's workflow. */
  tuning?: CompactTuning;
}

export interface CompactionSweepResult {
  compacted: number;
  unchanged: number;
  failed: string[];
  /** Partitions a still-running compaction (of an earlier sweep) already owned. */
  skippedRunning: number;
}

/**
 * Hourly: compacts every closed partition with small files, one child workflow per partition
 * (`compact/<table>/<dt>/<hour>`), a few at a time. Re-finding the candidates after continue-as-new picks up
 * where the last run stopped, because a compacted partition is no longer a candidate.
 */
export async function compactionSweepWorkflow(input: CompactionSweepInput = {}): Promise<CompactionSweepResult> {
  const tables = input.tables ?? [...defaultLakeTables()];
  const closedBefore = closedBeforeUs(Date.now(), input.closedForMinutes);
  const failed = new Set(input.failed ?? []);
  const work: CompactInput[] = [];
  for (const table of tables) {
    const found = await findCompactionCandidates({
      table,
      closedBeforeUs: closedBefore,
      minFiles: input.minFiles ?? 2,
    });
    for (const c of found) {
      if (!failed.has(`${table}/${c.partition}`)) work.push({ table, partition: c.partition });
    }
  }
  const maxPerRun = input.maxPerRun ?? 100;
  const batch = work.slice(0, maxPerRun);
  const result: CompactionSweepResult = { compacted: 0, unchanged: 0, failed: [], skippedRunning: 0 };
  const concurrency = Math.max(1, input.concurrency ?? 2);
  let next = 0;
  const lane = async () => {
    while (next < batch.length) {
      const item = batch[next++]!;
      const outcome = await runChild(item, input.tuning);
      if (outcome === 'running') result.skippedRunning++;
      else if (outcome === 'failed') result.failed.push(`${item.table}/${item.partition}`);
      else if (outcome.status === 'committed') result.compacted++;
      else result.unchanged++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, lane));
  if (work.length > batch.length) {
    await continueAsNew<typeof compactionSweepWorkflow>({ ...input, failed: [...failed, ...result.failed] });
  }
  return result;
}

/** One partition's compaction as a child workflow named after it; also the backfill's. */
export async function runChild(
  item: CompactInput,
  tuning?: CompactTuning,
): Promise<CompactOutcome | 'running' | 'failed'> {
  try {
    const child = await startChild(compactPartitionWorkflow, {
      workflowId: WORKFLOW_IDS.compactPartition(item.table, item.partition),
      args: [tuning ? { ...item, tuning } : item],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: partitionAttributes(item),
    });
    return await child.result();
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'running';
    log.warn('partition compaction failed', { ...item, error: failureMessage(err) });
    return 'failed';
  }
}

function partitionAttributes(item: CompactInput) {
  const day = partitionParts(item.partition)?.day;
  return [
    { key: SEARCH_ATTRIBUTES.table, value: item.table },
    { key: SEARCH_ATTRIBUTES.partition, value: item.partition },
    ...(day ? [{ key: SEARCH_ATTRIBUTES.date, value: new Date(`${day}T00:00:00Z`) }] : []),
  ];
}

/** One partition: the compaction activity, and its outcome as a search attribute for the Temporal UI. */
export async function compactPartitionWorkflow(input: CompactPartitionInput): Promise<CompactOutcome> {
  const { tuning, ...item } = input;
  if (!workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.table)) {
    upsertSearchAttributes(partitionAttributes(item));
  }
  const { compactPartition } = proxyActivities<LakeActivities>(compactOptions(tuning));
  try {
    const outcome = await compactPartition(item);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: outcome.status }]);
    return outcome;
  } catch (err) {
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: 'failed' }]);
    // An activity's non-retryable failure (a file that doesn't match the table schema) names the file and column:
    // surface it as this workflow's failure so the UI shows it on the partition's own row.
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) throw err.cause;
    throw err;
  }
}
