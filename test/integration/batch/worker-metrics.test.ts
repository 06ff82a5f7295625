import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthActivities } from '../../../activities/health.ts';
import { bigqueryClient, kafkaClient, s3Client } from '../../../infra/clients.ts';
import { metricsWorkerOptions } from '../../../infra/temporal/metrics.ts';
import { healthCheckWorkflow } from '../../../workflows/index.ts';
import { testStackConfig } from '../../support/stack.ts';
import { localTemporal, WORKFLOWS_PATH } from '../../support/temporal.ts';

/**
 * The worker's workflow and activity metrics (interceptors + a sink, infra/temporal/metrics.ts) on a real Temporal
 * dev server: a run that completes and one whose activity fails are counted once each, by type and outcome, with
 * durations; replaying their histories (the worker's cache is off) does not count them again.
 */
let env: TestWorkflowEnvironment;
const registry = new Registry();
const config = testStackConfig();
const s3 = s3Client(config);
const stops: Array<() => Promise<void>> = [];

async function startWorker(taskQueue: string, activities: object): Promise<void> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities,
    // Every workflow task replays the history from the start: a sink called during replay would count twice.
    maxCachedWorkflows: 0,
    ...metricsWorkerOptions(registry),
  });
  const running = worker.run();
  stops.push(async () => {
    worker.shutdown();
    await running;
  });
}

const ok = `metrics-ok-${randomUUID()}`;
const failing = `metrics-fail-${randomUUID()}`;

beforeAll(async () => {
  env = await localTemporal();
  await startWorker(ok, createHealthActivities({ kafka: kafkaClient(config), s3, bigquery: bigqueryClient(config) }));
  await startWorker(failing, {
    probeDependencies: async () => {
      throw ApplicationFailure.nonRetryable('probe refused', 'TEST');
    },
  });
}, 90_000);

afterAll(async () => {
  for (const stop of stops) await stop();
  await env?.teardown();
  s3.destroy();
});

/** A sample by its series name (a histogram's `_count` and `_sum` included) and labels. */
async function value(name: string, labels: Record<string, string>): Promise<number | undefined> {
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values as { metricName?: string; labels: Record<string, unknown>; value: number }[]) {
      if ((v.metricName ?? metric.name) !== name) continue;
      if (Object.entries(labels).every(([k, l]) => v.labels[k] === l)) return v.value;
    }
  }
  return undefined;
}

describe('workflow and activity metrics', () => {
  it('counts a completed and a failed run once each, with durations', async () => {
    const result = await env.client.workflow.execute(healthCheckWorkflow, {
      taskQueue: ok,
      workflowId: `metrics-ok-${randomUUID()}`,
      args: [{ targets: ['kafka'] }],
    });
    expect(result.ok).toBe(true);
    await expect(
      env.client.workflow.execute(healthCheckWorkflow, {
        taskQueue: failing,
        workflowId: `metrics-fail-${randomUUID()}`,
        args: [{ targets: ['kafka'] }],
      }),
    ).rejects.toThrow();

    const wf = { workflow_type: 'healthCheckWorkflow' };
    expect(await value('ticklake_workflow_runs_total', { ...wf, outcome: 'completed' })).toBe(1);
    expect(await value('ticklake_workflow_runs_total', { ...wf, outcome: 'failed' })).toBe(1);
    expect(await value('ticklake_workflow_run_seconds_count', { ...wf, outcome: 'completed' })).toBe(1);
    const act = { activity_type: 'probeDependencies' };
    expect(await value('ticklake_activity_seconds_count', { ...act, outcome: 'completed' })).toBe(1);
    // maximumAttempts 2, but the failure is non-retryable: one attempt.
    expect(await value('ticklake_activity_seconds_count', { ...act, outcome: 'failed' })).toBe(1);
    const sum = await value('ticklake_workflow_run_seconds_sum', { ...wf, outcome: 'completed' });
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(60);
  }, 120_000);
});
