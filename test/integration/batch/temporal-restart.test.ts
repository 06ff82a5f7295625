import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakeActivities, type CompactInput } from '../../../activities/lake.ts';
import { withTemporalFailures } from '../../../infra/temporal/failures.ts';
import { applySchedules, pauseSchedule, triggerSchedule } from '../../../infra/temporal/schedules.ts';
import { closeDuckDb, DuckDb } from '../../../lake/duckdb.ts';
import { partitionOf } from '../../../lake/layout.ts';
import { loadSnapshot, snapshotFiles } from '../../../lake/manifest.ts';
import type { Storage } from '../../../lake/storage/storage.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { compactPartitionWorkflow } from '../../../workflows/index.ts';
import { batchSchedules } from '../../../workflows/schedules.ts';
import { privateTemporal, waitFor, type PrivateServer } from '../../support/servers.ts';
import { WORKFLOWS_PATH } from '../../support/temporal.ts';
import { T0, makeTicks, tempStorage } from '../../unit/lake/fixtures.ts';

/**
 * The Temporal server restarted (SIGKILLed and started again on its SQLite file) while a compaction is running:
 * the schedules are still there with their specs and pause, they still start runs, and the running workflow
 * completes once its activity does.
 */
let temporal: PrivateServer;
let address: string;
let connection: Connection;
let client: Client;
let workerConnection: NativeConnection;
let storage: Storage;
const duckdb = new DuckDb({ threads: 1 });
let cleanup: () => Promise<void>;
let stopWorker: (() => Promise<void>) | undefined;
const taskQueue = `restart-${randomUUID()}`;
const partition = partitionOf(T0);

/** The activity waits here until the test opens the gate, so the server restarts while it is running. */
let activityStarted = false;
let openGate!: () => void;
const gate = new Promise<void>((resolve) => (openGate = resolve));

async function scheduleStates() {
  const out: Record<string, { spec: unknown; paused: boolean; note: string | undefined; action: unknown }> = {};
  for (const def of batchSchedules()) {
    const d = await client.schedule.getHandle(def.id).describe();
    out[def.id] = { spec: d.spec, paused: d.state.paused, note: d.state.note, action: d.action };
  }
  return out;
}

beforeAll(async () => {
  ({ server: temporal, address } = await privateTemporal());
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  workerConnection = await NativeConnection.connect({ address });
  const t = await tempStorage();
  storage = t.storage;
  cleanup = t.cleanup;
  const lake = new LakeWriter(storage);
  for (let i = 0; i < 3; i++) {
    const ticks = makeTicks(200, { startUs: T0, spanUs: 3_600_000_000 - 1, seq0: i * 200 });
    const range = { topic: 'ticks.raw', partition: 0, startOffset: String(i * 200), endOffset: String(i * 200 + 199) };
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range));
  }
  const lakeActivities = createLakeActivities({ storage, duckdb, targetBytes: 8 * 1024 * 1024, heartbeatMs: 500 });
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: withTemporalFailures({
      ...lakeActivities,
      compactPartition: async (input: CompactInput) => {
        activityStarted = true;
        await gate;
        return lakeActivities.compactPartition(input);
      },
    }),
  });
  const running = worker.run();
  stopWorker = async () => {
    worker.shutdown();
    await running;
  };
}, 60_000);

afterAll(async () => {
  await duckdb.close();
  openGate();
  await stopWorker?.();
  await workerConnection?.close();
  await connection?.close();
  await temporal?.close();
  await cleanup?.();
  await closeDuckDb();
});

describe('Temporal server restarted', () => {
  it('keeps the schedules (spec, pause) and the running compaction, which completes after the restart', async () => {
    await applySchedules(client, taskQueue);
    await pauseSchedule(client, 'vacuum', 'paused before the restart');
    const before = await scheduleStates();
    expect(before['ticklake-vacuum']).toMatchObject({ paused: true, note: 'paused before the restart' });

    const handle = await client.workflow.start(compactPartitionWorkflow, {
      taskQueue,
      workflowId: WORKFLOW_IDS.compactPartition('raw', partition),
      args: [{ table: 'raw', partition }],
    });
    await waitFor('the compaction activity to start', () => activityStarted);

    await temporal.kill();
    await temporal.start();

    expect(await scheduleStates()).toEqual(before);
    openGate();
    expect(await handle.result()).toMatchObject({ status: 'committed', filesIn: 3, rowsIn: 600 });
    expect(await snapshotFiles(storage, (await loadSnapshot(storage, 'raw'))!)).toHaveLength(1);

    // The schedules still start runs: the sweep finds nothing left to compact.
    await triggerSchedule(client, 'compaction-sweep');
    let runId: string | undefined;
    await waitFor('the triggered sweep to start', async () => {
      const d = await client.schedule.getHandle('ticklake-compaction-sweep').describe();
      runId = d.info.recentActions.at(-1)?.action.workflow.workflowId;
      return runId !== undefined;
    });
    expect(await client.workflow.getHandle(runId!).result()).toEqual({
      compacted: 0,
      unchanged: 0,
      failed: [],
      skippedRunning: 0,
    });
  });
});
