import { proxyActivities } from '@temporalio/workflow';
import type { HealthActivities, ProbeResult } from '../activities/health.ts';

const { probeDependencies } = proxyActivities<HealthActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 2 },
});

export interface HealthCheckInput {
  /** Which dependencies the worker should probe; all by default. */
  targets?: Array<ProbeResult['target']>;
}

export interface HealthCheckResult {
  ok: boolean;
  probes: ProbeResult[];
}

/**
 * Proves the whole control path: a client starts it, Temporal schedules it onto a live worker, and the worker's
 * activity reaches Kafka, S3 and BigQuery with the worker's own config.
 */
export async function healthCheckWorkflow(input: HealthCheckInput = {}): Promise<HealthCheckResult> {
  const probes = await probeDependencies(input.targets ?? ['kafka', 's3', 'bigquery']);
  return { ok: probes.every((p) => p.ok), probes };
}
