import { log, proxyActivities, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ModelActivities, ScoreDayOutcome, TrainModelsInput, TrainModelsOutcome } from '../activities/models.ts';
import { failureMessage, WAREHOUSE_TABLE_OF, WORKFLOW_IDS } from './constants.ts';
import { warehouseLoadWorkflow } from './warehouse.ts';

// Training and scoring read a window of bars and write a few objects: minutes at most, heartbeating while they read.
const { trainModels, scoreAnomalyDay } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

/** Trains every symbol's anomaly model on the lake's bars of a trailing window (default: the configured days to yesterday). */
export async function modelTrainingWorkflow(input: TrainModelsInput = {}): Promise<TrainModelsOutcome> {
  const outcome = await trainModels(input);
  log.info('models trained', {
    from: outcome.from,
    to: outcome.to,
    trained: outcome.trained,
    changed: outcome.changed,
    skipped: outcome.skipped.length,
  });
  return outcome;
}

export interface AnomalyScoringInput {
  /** `YYYY-MM-DD`; default: yesterday (UTC), every bar of which is closed. */
  day?: string;
  /** Load the scored day into BigQuery afterwards (default true). */
  load?: boolean;
}

export interface AnomalyScoringResult extends ScoreDayOutcome {
  /** The warehouse load's status, or why there was none. */
  load: string;
}

/** Scores a day's closed bars with the latest models into the `anomalies` table, then loads that day to BigQuery. */
export async function anomalyScoringWorkflow(input: AnomalyScoringInput = {}): Promise<AnomalyScoringResult> {
  const day = input.day ?? new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const scored = await scoreAnomalyDay({ day });
  if (input.load === false) return { ...scored, load: 'skipped' };
  const table = WAREHOUSE_TABLE_OF.anomalies;
  try {
    const child = await startChild(warehouseLoadWorkflow, {
      workflowId: WORKFLOW_IDS.warehouseLoad(table, day),
      args: [{ table, day }],
    });
    return { ...scored, load: (await child.result()).status };
  } catch (err) {
    // A sweep's load of the same day is running: it, or the next sweep, reads what was just written.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { ...scored, load: 'already_running' };
    log.warn('anomalies load failed', { day, error: failureMessage(err) });
    return { ...scored, load: `failed: ${failureMessage(err)}` };
  }
}
