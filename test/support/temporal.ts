import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { withTemporalFailures } from '../../infra/temporal/failures.ts';
import { searchAttributeFlags } from '../../workflows/constants.ts';
import { testStackConfig } from './stack.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** The Temporal CLI the local stack provisioned (`ticklake stack provision`). */
export function temporalBinary(): string {
  const s = testStackConfig().stack;
  return join(s.cacheDir, 'bin', `temporal-${s.temporalCliVersion}`, 'temporal');
}

let runtimeInstalled = false;

/**
 * A Temporal dev server of its own for one test file, from the binary the local stack provisioned (nothing is
 * downloaded), on loopback, with ticklake's search attributes registered as the stack registers them.
 */
export async function localTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // another file in this worker installed it already
    }
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      ip: '127.0.0.1',
      extraArgs: searchAttributeFlags().flatMap((f) => ['--search-attribute', f]),
    },
  });
}

/**
 * With TICKLAKE_RECORD_HISTORIES=1, saves a run's history to test/fixtures/histories/<name>.json, which the replay
 * test (test/unit/workflows/replay.test.ts) replays against the current workflow code. Record again only when a
 * workflow changes on purpose (and then version it with patched() if runs of the old code may still be open). The
 * Temporal CLI's JSON is the format the SDK's replay reads, and what `temporal workflow show` gives a person.
 */
export async function recordHistory(env: TestWorkflowEnvironment, name: string, workflowId: string): Promise<void> {
  if (process.env.TICKLAKE_RECORD_HISTORIES !== '1') return;
  const out = spawnSync(
    temporalBinary(),
    ['workflow', 'show', '--address', env.address, '--workflow-id', workflowId, '--output', 'json'],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`temporal workflow show: ${out.stderr}`);
  const dir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  // Failures' stack traces name this machine's paths; replay does not read them.
  const history: unknown = JSON.parse(out.stdout, (key, value: unknown) => (key === 'stackTrace' ? '' : value));
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(history, null, 2)}\n`);
}

/** A worker of the real workflows on `taskQueue`, running until the returned stop is awaited. */
export async function startTestWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  activities: Record<string, (...args: never[]) => Promise<unknown>>,
): Promise<() => Promise<void>> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: withTemporalFailures(activities),
  });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
  };
}

/** The attempt number of every activity task a run started, from its history: [1] means no retry happened. */
export async function activityAttempts(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }) {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .map((e) => (e as { activityTaskStartedEventAttributes?: { attempt?: number } }).activityTaskStartedEventAttributes)
    .filter((a) => a !== undefined && a !== null)
    .map((a) => a.attempt);
}
