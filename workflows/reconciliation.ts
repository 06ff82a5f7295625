import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ReconcileActivities, ReconcileSummary } from '../activities/reconcile.ts';
import { SEARCH_ATTRIBUTES } from './constants.ts';

// The range is the worker's decision (its config knows the lateness and flush), recorded in history by the activity.
const { closedReconciliationRange } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});
// A day of raw ticks is read and replayed in one attempt: minutes, heartbeating per lake partition read.
const { reconcileWindows } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

export interface ReconciliationInput {
  /** The last this many closed hours (default 2: a missed run's hour is covered by the next). */
  hours?: number;
  /** An explicit window range instead, µs, whole minutes (the activity refuses windows not closed yet). */
  fromUs?: number;
  toUs?: number;
}

/**
 * Hourly, after compaction: reconciles the speed layer's bars and alerts in the lake with the batch truth from
 * the raw ticks (core/reconcile/) over closed windows, writes the rows to the `reconciliation` table (loaded into
 * BigQuery by the warehouse sweep) and returns the totals. The worker's gauges are read from that table.
 */
export async function reconciliationWorkflow(input: ReconciliationInput = {}): Promise<ReconcileSummary> {
  const range =
    input.fromUs !== undefined && input.toUs !== undefined
      ? { fromUs: input.fromUs, toUs: input.toUs }
      : await closedReconciliationRange({ hours: input.hours ?? 2 });
  const info = workflowInfo();
  const summary = await reconcileWindows({
    ...range,
    runId: `${info.workflowId}/${info.runId}`,
    runTs: Date.now() * 1000,
  });
  const disagreements = summary.totals.bars.disagreement + summary.totals.alerts.disagreement;
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: disagreements > 0 ? 'disagreement' : 'agreed' }]);
  return summary;
}
