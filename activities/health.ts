import { ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BigQuery } from '@google-cloud/bigquery';
import type { Kafka } from 'kafkajs';

export interface ProbeResult {
  target: 'kafka' | 's3' | 'bigquery';
  ok: boolean;
  latencyMs: number;
  detail: string;
}

export interface HealthDeps {
  kafka: Kafka;
  s3: S3Client;
  bigquery: BigQuery;
}

async function timed(target: ProbeResult['target'], probe: () => Promise<string>): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const detail = await probe();
    return { target, ok: true, latencyMs: Math.round(performance.now() - started), detail };
  } catch (err) {
    return { target, ok: false, latencyMs: Math.round(performance.now() - started), detail: (err as Error).message };
  }
}

export function createHealthActivities(deps: HealthDeps) {
  return {
    /** Read-only probes; safe to retry. */
    async probeDependencies(targets: Array<ProbeResult['target']>): Promise<ProbeResult[]> {
      const probes: Record<ProbeResult['target'], () => Promise<string>> = {
        kafka: async () => {
          const admin = deps.kafka.admin();
          await admin.connect();
          try {
            const cluster = await admin.describeCluster();
            return `${cluster.brokers.length} broker(s), cluster ${cluster.clusterId}`;
          } finally {
            await admin.disconnect();
          }
        },
        s3: async () => {
          const out = await deps.s3.send(new ListBucketsCommand({}));
          return `${out.Buckets?.length ?? 0} bucket(s)`;
        },
        bigquery: async () => {
          const [datasets] = await deps.bigquery.getDatasets();
          return `${datasets.length} dataset(s)`;
        },
      };
      return Promise.all(targets.map((t) => timed(t, probes[t])));
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
