import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './servers.ts';

const WORKER = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export interface RunningWorker {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/**
 * Starts test/support/worker-process.ts (the production worker) with `env` on top of this process's environment
 * (the test's Temporal, task queue, lake prefix…), armed with `failpoint` when given; resolves once it polls. The
 * child is added to `children` so the test's teardown can SIGKILL what is left.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  children: ChildProcess[],
  failpoint?: string,
): Promise<RunningWorker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env, ...(failpoint ? { TICKLAKE_FAILPOINT: failpoint } : {}) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await waitFor(
    'the worker to poll',
    () => {
      if (child.exitCode !== null) throw new Error(`worker exited: ${stderr}`);
      return stderr.includes('worker ready');
    },
    45_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${stderr}`);
  });
  return { child, exit, stderr: () => stderr };
}
