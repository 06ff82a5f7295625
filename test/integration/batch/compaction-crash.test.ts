import type { ChildProcess } from 'node:child_process';
import { startWorkerProcess, type RunningWorker } from '../../support/worker-child.ts';
import { waitFor } from '../../support/servers.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactionProgressSchema } from '../../../lake/compaction-progress.ts';
import { partitionOf, type SourceRange } from '../../../lake/layout.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { rawTable } from '../../../lake/tables.ts';
import { LakeWriter } from '../../../lake/writer.ts';
import { WORKFLOW_IDS } from '../../../workflows/constants.ts';
import { compactPartitionWorkflow } from '../../../workflows/index.ts';
import { expectConsistentLake } from '../../support/lake-checks.ts';
import { testStackConfig } from '../../support/stack.ts';
import { activityAttempts, localTemporal } from '../../support/temporal.ts';
import { makeTicks } from '../../unit/lake/fixtures.ts';

/**
 * A worker SIGKILLed in the middle of a compaction, with every output uploaded and not yet committed (its
 * `compact-before-commit` failpoint stalls it there until this test has seen that heartbeat reach Temporal): the
 * activity's heartbeat times out, the retry runs on a second worker, resumes from the heartbeat's checkpoint (no
 * second rewrite) and commits once. The workers are the production worker (test/support/worker-process.ts) in child
 * processes, on the shared stack's S3 under a prefix of this file's own.
 */
const HOUR_US = 3_600_000_000;
const HOUR = Date.UTC(2026, 10, 20, 9) * 1000;
const partition = partitionOf(HOUR);
const config = testStackConfig();
const prefix = `it-compact-crash-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}/`;
const taskQueue = `compact-crash-${randomUUID()}`;
const storage = new S3Storage(config.s3, { prefix });
let env: TestWorkflowEnvironment;
const children: ChildProcess[] = [];

/** The production worker in a child process, on this file's Temporal, task queue and lake. */
function startWorker(failpoint?: string): Promise<RunningWorker> {
  return startWorkerProcess(
    {
      TICKLAKE_TEMPORAL_ADDRESS: env.address,
      TICKLAKE_TEMPORAL_TASK_QUEUE: taskQueue,
      TICKLAKE_S3_LAKE_PREFIX: prefix,
      TICKLAKE_COMPACTION_DUCKDB_THREADS: '1',
    },
    children,
    failpoint,
  );
}

beforeAll(async () => {
  env = await localTemporal();
  const lake = new LakeWriter(storage);
  // Five sink files of 240 ticks in the hour, the fourth a replay of the second: 960 distinct ids.
  for (let i = 0; i < 5; i++) {
    const ticks = makeTicks(240, { startUs: HOUR, spanUs: HOUR_US - 1, seq0: (i === 3 ? 1 : i) * 240 });
    const range: SourceRange = {
      topic: 'ticks.raw',
      partition: 0,
      startOffset: String(i * 240),
      endOffset: String(i * 240 + 239),
    };
    await lake.commit(rawTable, await lake.writeFile(rawTable, ticks, range));
  }
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await env?.teardown();
  for (const o of await storage.list('')) await storage.delete(o.key);
  storage.client.destroy();
});

describe('a worker SIGKILLed mid-compaction', () => {
  it('the compaction resumes from its heartbeat on another worker; each id once, one compaction committed', async () => {
    const first = await startWorker('compact-before-commit:1:stall');
    const workflowId = WORKFLOW_IDS.compactPartition('raw', partition);
    const handle = await env.client.workflow.start(compactPartitionWorkflow, {
      taskQueue,
      workflowId,
      // The production heartbeat timeout is 1 minute; 8 s is past the worker's 5 s heartbeat period.
      args: [
        { table: 'raw', partition, tuning: { heartbeatTimeoutMs: 8_000, retryInitialMs: 200, retryMaximumMs: 1000 } },
      ],
    });
    await waitFor('the worker to stall before the commit', () => first.stderr().includes('stalled'), 60_000);
    // Kill it only once Temporal holds the heartbeat with the checkpoint: what the retry will resume from.
    let stage = '';
    await waitFor(
      'the checkpoint heartbeat to reach Temporal',
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const payload = pending[0]?.heartbeatDetails?.payloads?.[0]?.data;
        if (!payload) return false;
        const details = compactionProgressSchema.safeParse(JSON.parse(Buffer.from(payload).toString('utf8')));
        stage = details.success ? details.data.stage : 'unparsed';
        return details.success && details.data.checkpoint !== undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last heartbeat stage: ${stage}`);
    });
    first.child.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');
    // Dead between upload and commit: the outputs are stored, the manifest does not know them.
    const before = await expectConsistentLake(storage, rawTable);
    expect(before.replaceCommits).toBe(0);
    expect(before.ids).toHaveLength(1200);

    const second = await startWorker();
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ status: 'committed', resumed: true, filesIn: 5, rowsIn: 1200, rowsOut: 960 });
    // The first attempt timed out on its heartbeat; the retry ran on the second worker.
    expect(await activityAttempts(handle)).toEqual([2]);
    const after = await expectConsistentLake(storage, rawTable);
    expect(after.ids).toHaveLength(960);
    expect(new Set(after.ids).size).toBe(960);
    expect(after.replaceCommits).toBe(1);

    second.child.kill('SIGTERM');
    expect((await second.exit).code, second.stderr()).toBe(0);
  });
});
