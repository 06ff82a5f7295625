/**
 * Runs inside Temporal's workflow sandbox (the worker lists it in `interceptors.workflowModules`): it may import
 * nothing but @temporalio/workflow. Every workflow run's end is handed to the `ticklakeMetrics` sink, which the
 * worker implements outside the sandbox (infra/temporal/metrics.ts); sinks are not called during replay, so a
 * run is counted once however often its history is replayed.
 */
import {
  ContinueAsNew,
  isCancellation,
  proxySinks,
  TemporalFailure,
  type Sinks,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type Next,
} from '@temporalio/workflow';

export type WorkflowOutcome = 'completed' | 'failed' | 'cancelled' | 'continued_as_new' | 'task_failed';

export interface TicklakeMetricsSinks extends Sinks {
  ticklakeMetrics: { workflowEnded(outcome: WorkflowOutcome): void };
}

const { ticklakeMetrics } = proxySinks<TicklakeMetricsSinks>();

function outcomeOf(err: unknown): WorkflowOutcome {
  if (err instanceof ContinueAsNew) return 'continued_as_new';
  if (isCancellation(err)) return 'cancelled';
  // Any other error fails the workflow task (retried by the server), not the run.
  return err instanceof TemporalFailure ? 'failed' : 'task_failed';
}

class OutcomeInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) {
    try {
      const result = await next(input);
      ticklakeMetrics.workflowEnded('completed');
      return result;
    } catch (err) {
      ticklakeMetrics.workflowEnded(outcomeOf(err));
      throw err;
    }
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new OutcomeInterceptor()] });
