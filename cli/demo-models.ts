import type { Config } from '../core/config.ts';
import { temporalClient } from '../infra/clients.ts';
import { WORKFLOW_IDS } from '../workflows/constants.ts';
import { progressLine } from './shared.ts';

/**
 * The demo's model bootstrap: the daily schedules would first train tomorrow, so the demo trains on today's bars
 * every `everyMs` (the worker runs with DEMO_MODEL_MIN_BARS, so a symbol has a model after about half an hour),
 * and `ticklake alerts` picks each new version up from the models topic without a restart.
 */
export const DEMO_MODEL_MIN_BARS = 30;
export const DEMO_TRAIN_EVERY_MS = 5 * 60_000;

export function startDemoTraining(config: Config, everyMs = DEMO_TRAIN_EVERY_MS): { stop: () => void } {
  let running = false;
  const train = async () => {
    if (running) return;
    running = true;
    const day = new Date().toISOString().slice(0, 10);
    try {
      const { client, close } = await temporalClient(config);
      try {
        const r = await client.workflow.execute('modelTrainingWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId: WORKFLOW_IDS.modelTraining(`demo-${Date.now()}`),
          args: [{ from: day, to: day }],
        });
        progressLine(
          `[demo] models trained on ${day}: ${r.trained} symbols (${r.changed} new versions), ${r.skipped.length} still without enough bars`,
        );
      } finally {
        await close();
      }
    } catch (err) {
      progressLine(`[demo] model training failed (retried in ${everyMs / 60_000} min): ${(err as Error).message}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void train(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
