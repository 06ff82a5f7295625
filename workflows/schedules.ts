import type { CompactionSweepInput } from './compaction.ts';
import type { ReconciliationInput } from './reconciliation.ts';
import type { AnomalyScoringInput } from './models.ts';
import { WORKFLOW_IDS } from './constants.ts';
import type { DailyReportInput } from './report.ts';
import type { VacuumInput } from './vacuum.ts';
import type { WarehouseLoadSweepInput } from './warehouse.ts';

/**
 * The batch layer's schedules, declared once: `ticklake schedules apply` makes the server's schedules equal to
 * this list (creating, updating, and deleting `ticklake-*` schedules no longer listed), and `npm start` applies it.
 *
 * Overlap: SKIP everywhere. A sweep still running when the next is due is catching up on everything closed, so a
 * second one would only compete for the same partitions; the skipped run's work is done by the running one.
 * Catch-up window: after the server was down, one late run covers everything missed (each run sweeps all closed
 * partitions, not one period's), so the window only decides whether a run is worth starting late at all: an hour
 * for the hourly jobs, a day for the daily one.
 */
export interface ScheduleDef {
  id: string;
  description: string;
  workflowType: string;
  /** Temporal appends the run's scheduled time to it. */
  workflowId: string;
  args: unknown[];
  spec: { intervals?: Array<{ every: string; offset?: string }>; cronExpressions?: string[] };
  catchupWindow: string;
}

export const SCHEDULE_PREFIX = 'ticklake-';

export function batchSchedules(): ScheduleDef[] {
  return [
    {
      id: `${SCHEDULE_PREFIX}compaction-sweep`,
      description: 'Compact closed lake partitions with small files (every table)',
      workflowType: 'compactionSweepWorkflow',
      workflowId: WORKFLOW_IDS.compactionSweep('scheduled'),
      args: [{} satisfies CompactionSweepInput],
      // Five minutes past the hour: the hour that just ended is past the processor's lateness and the sink's flush.
      spec: { intervals: [{ every: '1h', offset: '5m' }] },
      catchupWindow: '1h',
    },
    {
      id: `${SCHEDULE_PREFIX}vacuum`,
      description: 'Expire old lake snapshots and remove unreferenced files (24 h grace)',
      workflowType: 'vacuumWorkflow',
      workflowId: WORKFLOW_IDS.vacuum('scheduled'),
      args: [{} satisfies VacuumInput],
      spec: { cronExpressions: ['30 3 * * *'] },
      catchupWindow: '1d',
    },
    {
      id: `${SCHEDULE_PREFIX}warehouse-load`,
      description: 'Load every lake day that changed since its last load into BigQuery (every table)',
      workflowType: 'warehouseLoadSweepWorkflow',
      workflowId: WORKFLOW_IDS.warehouseLoadSweep('scheduled'),
      args: [{} satisfies WarehouseLoadSweepInput],
      // The warehouse is this fresh: a day's new sink files are in BigQuery within one period, compaction or not.
      spec: { intervals: [{ every: '15m' }] },
      catchupWindow: '15m',
    },
    {
      id: `${SCHEDULE_PREFIX}reconciliation`,
      description: 'Reconcile the speed layer (bars, alerts) with the batch truth from raw ticks, last 2 closed hours',
      workflowType: 'reconciliationWorkflow',
      workflowId: WORKFLOW_IDS.reconciliation('scheduled'),
      args: [{ hours: 2 } satisfies ReconciliationInput],
      // After the compaction sweep (:05): the hour before is closed, and its raw files are fewer and larger.
      spec: { intervals: [{ every: '1h', offset: '20m' }] },
      catchupWindow: '1h',
    },
    {
      id: `${SCHEDULE_PREFIX}daily-report`,
      description: "Render yesterday's report (HTML + PDF) into the lake's reports/ prefix and announce it",
      workflowType: 'dailyReportWorkflow',
      workflowId: 'daily-report/scheduled',
      args: [{} satisfies DailyReportInput],
      // 01:00 UTC: the day's last hour closed ten minutes after midnight (CLOSED_AFTER_MINUTES), the sinks flushed,
      // and the day's anomalies were scored at 00:20 (the report shows them).
      spec: { cronExpressions: ['0 1 * * *'] },
      catchupWindow: '1d',
    },
    {
      id: `${SCHEDULE_PREFIX}anomaly-scoring`,
      description: "Score yesterday's closed bars with the latest anomaly models into the anomalies table and BigQuery",
      workflowType: 'anomalyScoringWorkflow',
      workflowId: WORKFLOW_IDS.anomalyScoring('scheduled'),
      args: [{} satisfies AnomalyScoringInput],
      // Before the day's training run, so a day is scored by models that never saw it.
      spec: { cronExpressions: ['20 0 * * *'] },
      catchupWindow: '1d',
    },
    {
      id: `${SCHEDULE_PREFIX}model-training`,
      description:
        'Train every symbol’s anomaly model on the trailing models.windowDays of bars; publish to models/ and the models topic',
      workflowType: 'modelTrainingWorkflow',
      workflowId: WORKFLOW_IDS.modelTraining('scheduled'),
      args: [{}],
      spec: { cronExpressions: ['40 0 * * *'] },
      catchupWindow: '1d',
    },
  ];
}
