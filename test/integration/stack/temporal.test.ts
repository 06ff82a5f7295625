import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../../../infra/temporal/worker.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { healthCheckWorkflow } from '../../../workflows/index.ts';
import { testStackConfig } from '../../support/stack.ts';
import { uniqueName } from '../../support/ids.ts';

const config = { ...testStackConfig() };
config.temporal = { ...config.temporal, taskQueue: uniqueName('ticklake-test') };

let connection: Connection;
let stopWorker: () => Promise<void>;

beforeAll(async () => {
  const { worker, close } = await createWorker(config);
  const running = worker.run();
  stopWorker = async () => {
    worker.shutdown();
    await running;
    await close();
  };
  connection = await Connection.connect({ address: config.temporal.address });
});

afterAll(async () => {
  await connection?.close();
  await stopWorker?.();
});

describe('Temporal dev server', () => {
  it('runs a workflow on a real worker whose activity reaches Kafka, S3 and BigQuery', async () => {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const workflowId = WORKFLOW_IDS.healthCheck(uniqueName('t'));
    const result = await client.workflow.execute(healthCheckWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{}],
    });
    expect(result.probes.map((p) => [p.target, p.ok])).toEqual([
      ['kafka', true],
      ['s3', true],
      ['bigquery', true],
    ]);
    expect(result.ok).toBe(true);

    // The same run is visible through the Web UI's own API, which its pages read.
    const res = await fetch(
      `http://127.0.0.1:${config.stack.temporalUiPort}/api/v1/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { workflowExecutionInfo: { status: string } };
    expect(body.workflowExecutionInfo.status).toBe('WORKFLOW_EXECUTION_STATUS_COMPLETED');
  });

  it('serves the Web UI', async () => {
    const res = await fetch(`http://127.0.0.1:${config.stack.temporalUiPort}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<html/i);
  });
});
