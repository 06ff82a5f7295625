import { fileURLToPath } from 'node:url';
import type { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { TicklakeMetricsSinks } from './workflow-interceptors.ts';

/**
 * The batch layer's own metrics, kept in ticklake's names next to everything else (the SDK's telemetry would
 * need a second exporter and port): workflow runs by type and outcome with their durations, through a workflow
 * interceptor and a sink (workflow-interceptors.ts), and activity executions the same way.
 */

const DURATION_BUCKETS = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600];

function createTemporalMetrics(registry: Registry) {
  const registers = [registry];
  return {
    runs: new Counter({
      name: 'ticklake_workflow_runs_total',
      help: 'Workflow runs ended on this worker, by workflow type and outcome',
      labelNames: ['workflow_type', 'outcome'],
      registers,
    }),
    runSeconds: new Histogram({
      name: 'ticklake_workflow_run_seconds',
      help: 'Workflow run duration, from the run start to its end, by workflow type and outcome',
      labelNames: ['workflow_type', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    activitySeconds: new Histogram({
      name: 'ticklake_activity_seconds',
      help: 'Activity attempt duration by activity type and outcome (completed, failed, cancelled)',
      labelNames: ['activity_type', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
  };
}

const byRegistry = new WeakMap<Registry, ReturnType<typeof createTemporalMetrics>>();

export function temporalMetrics(registry: Registry): ReturnType<typeof createTemporalMetrics> {
  let m = byRegistry.get(registry);
  if (!m) byRegistry.set(registry, (m = createTemporalMetrics(registry)));
  return m;
}

export const WORKFLOW_INTERCEPTORS = fileURLToPath(new URL('./workflow-interceptors.ts', import.meta.url));

/** The worker options that count workflow runs and activity attempts into `registry`. */
export function metricsWorkerOptions(registry: Registry): {
  interceptors: WorkerInterceptors;
  sinks: InjectedSinks<TicklakeMetricsSinks>;
} {
  const m = temporalMetrics(registry);
  return {
    interceptors: {
      workflowModules: [WORKFLOW_INTERCEPTORS],
      activity: [
        (ctx: Context) => ({
          inbound: {
            async execute(input, next) {
              const end = m.activitySeconds.startTimer({ activity_type: ctx.info.activityType });
              try {
                const result = await next(input);
                end({ outcome: 'completed' });
                return result;
              } catch (err) {
                end({
                  outcome: err instanceof CancelledFailure || ctx.cancellationSignal.aborted ? 'cancelled' : 'failed',
                });
                throw err;
              }
            },
          },
        }),
      ],
    },
    sinks: {
      ticklakeMetrics: {
        workflowEnded: {
          fn(info, outcome) {
            const labels = { workflow_type: info.workflowType, outcome };
            m.runs.inc(labels);
            m.runSeconds.observe(labels, Math.max(0, Date.now() - info.runStartTime.getTime()) / 1000);
          },
          callDuringReplay: false,
        },
      },
    },
  };
}
