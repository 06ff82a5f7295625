import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import { createActivities } from '../../activities/index.ts';
import type { Config } from '../../core/config.ts';
import { topicName } from '../../core/topics.ts';
import { closeDuckDb } from '../../lake/duckdb.ts';
import { failpoint, failpointOrStall } from '../../streaming/sink/failpoints.ts';
import { compactionDuckDb } from '../clients.ts';
import { bigqueryClient, kafkaClient, lakeStorage, s3Client, warehouseDeps } from '../clients.ts';
import { withTemporalFailures } from './failures.ts';
import { metricsWorkerOptions } from './metrics.ts';
import { reportDeps } from '../reports/deps.ts';
import { Warehouse } from '../../warehouse/warehouse.ts';
import { ensureSearchAttributes } from './search-attributes.ts';

const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** The composition root of the batch layer: real clients in, one worker on the ticklake task queue. */
let runtimeInstalled = false;

/** The SDK logs every state change at INFO; operators want warnings. Install once per process. */
function quietRuntime(level: Config['temporal']['logLevel']): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already installed by the embedding process (e.g. tests): keep theirs.
  }
}

/** With `registry`, workflow runs and activity attempts are counted into it (infra/temporal/metrics.ts). */
export async function createWorker(
  config: Config,
  registry?: Registry,
): Promise<{ worker: Worker; connection: NativeConnection; close: () => Promise<void> }> {
  quietRuntime(config.temporal.logLevel);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  await ensureSearchAttributes(connection, config.temporal.namespace);
  const s3 = s3Client(config);
  const storage = lakeStorage(config);
  const duckdb = compactionDuckDb(config);
  const kafka = kafkaClient(config, 'ticklake-worker');
  const reports = reportDeps(config, { storage, kafka, warehouse: new Warehouse(warehouseDeps(config, storage)) });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS,
    ...(registry ? metricsWorkerOptions(registry) : {}),
    activities: withTemporalFailures(
      createActivities({
        kafka,
        s3,
        bigquery: bigqueryClient(config),
        // Unarmed (no TICKLAKE_FAILPOINT) the failpoints are a counter and a comparison; fault tests SIGKILL the
        // worker there (or stall it, to kill it themselves once its heartbeat has reached Temporal).
        lake: {
          storage,
          duckdb,
          targetBytes: config.compaction.targetMb * 1024 * 1024,
          failpoint: (point) => failpointOrStall(`compact-${point}`),
        },
        warehouse: { ...warehouseDeps(config, storage), failpoint: (point) => failpoint(`load-${point}`) },
        reports,
        reconcile: { storage, config },
        models: {
          storage,
          kafka,
          modelsTopic: topicName(config, 'models'),
          windowDays: config.models.windowDays,
          minBars: config.models.minBars,
          threshold: config.models.threshold,
        },
      }),
    ),
  });
  return {
    worker,
    connection,
    close: async () => {
      s3.destroy();
      storage.client.destroy();
      await duckdb.close();
      await reports.close();
      await closeDuckDb();
      await connection.close();
    },
  };
}
