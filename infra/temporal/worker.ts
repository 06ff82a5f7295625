import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.ts';
import type { Config } from '../../core/config.ts';
import { bigqueryClient, kafkaClient, s3Client } from '../clients.ts';

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

export async function createWorker(config: Config): Promise<{ worker: Worker; close: () => Promise<void> }> {
  quietRuntime(config.temporal.logLevel);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const s3 = s3Client(config);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS,
    activities: createActivities({
      kafka: kafkaClient(config, 'ticklake-worker'),
      s3,
      bigquery: bigqueryClient(config),
    }),
  });
  return {
    worker,
    close: async () => {
      s3.destroy();
      await connection.close();
    },
  };
}
