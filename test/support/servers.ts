import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import type { Config } from '../../core/config.ts';
import { searchAttributeFlags } from '../../workflows/constants.ts';
import { testStackConfig } from './stack.ts';

/**
 * Servers of a test's own, from the binaries the local stack provisioned into its cache (nothing is downloaded),
 * started the way infra/stack/services/*.ts start them but on free loopback ports and in a temp dir, so a test can
 * stop, freeze and restart them without touching the shared test stack. Each keeps its data across restarts.
 */

/** `<cache>/bin/<tool>-<version>/<tool>`, as infra/stack/toolchain.ts goInstall lays it out. */
export function cachedBinary(tool: 'versitygw' | 'bigquery-emulator' | 'temporal'): string {
  const s = testStackConfig().stack;
  const version = {
    versitygw: s.versitygwVersion,
    'bigquery-emulator': s.bigqueryEmulatorVersion,
    temporal: s.temporalCliVersion,
  }[tool];
  return join(s.cacheDir, 'bin', `${tool}-${version}`, tool);
}

/** A port nothing listens on now (the OS's pick); the server started on it next is ours. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `check` until it returns true; throws after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export interface PrivateServer {
  /** Alive and answering. */
  readonly running: boolean;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** Start again on the same ports and data; resolves once it answers. */
  start(): Promise<void>;
  /** Kill it if running and remove its data. */
  close(): Promise<void>;
  /** The last lines it wrote (for a failing test's message). */
  log(): string;
}

function managed(
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; home: string; healthy: () => Promise<boolean>; startTimeoutMs?: number },
): PrivateServer {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let tail = '';
  const server: PrivateServer = {
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      if (!server.running) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async start() {
      if (server.running) return;
      const c = spawn(command, args, {
        cwd: opts.home,
        env: opts.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      const keep = (d: Buffer) => {
        tail = (tail + d.toString()).slice(-4000);
      };
      c.stdout!.on('data', keep);
      c.stderr!.on('data', keep);
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
      while (!(await opts.healthy().catch(() => false))) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${name} exited on start:\n${tail}`);
        if (Date.now() > deadline) throw new Error(`${name} did not answer in time:\n${tail}`);
        await sleep(100);
      }
    },
    async close() {
      await server.kill();
      rmSync(opts.home, { recursive: true, force: true });
    },
    log: () => tail,
  };
  return server;
}

/** A private versitygw (posix backend, sidecar metadata) with `config.s3.bucket` created; `config` points at it. */
export async function privateS3(): Promise<{ server: PrivateServer; config: Config }> {
  const base = testStackConfig();
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), 'ticklake-s3-'));
  mkdirSync(join(home, 'data'));
  mkdirSync(join(home, 'meta'));
  const config: Config = { ...base, s3: { ...base.s3, endpoint: `http://127.0.0.1:${port}` } };
  const client = () =>
    new S3Client({
      endpoint: config.s3.endpoint,
      region: config.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey },
      maxAttempts: 1,
    });
  const server = managed(
    'versitygw',
    cachedBinary('versitygw'),
    [
      '--port',
      `127.0.0.1:${port}`,
      '--region',
      config.s3.region,
      '--quiet',
      'posix',
      '--sidecar',
      join(home, 'meta'),
      join(home, 'data'),
    ],
    {
      home,
      env: {
        ...process.env,
        ROOT_ACCESS_KEY_ID: config.s3.accessKeyId,
        ROOT_SECRET_ACCESS_KEY: config.s3.secretAccessKey,
      },
      healthy: async () => {
        const c = client();
        try {
          await c.send(new ListBucketsCommand({}));
          return true;
        } finally {
          c.destroy();
        }
      },
    },
  );
  await server.start();
  const c = client();
  try {
    await c.send(new CreateBucketCommand({ Bucket: config.s3.bucket }));
  } finally {
    c.destroy();
  }
  return { server, config };
}

/** A private bigquery-emulator with a SQLite file (its data outlives a kill); `config` points at it. */
export async function privateBigQuery(): Promise<{ server: PrivateServer; config: Config }> {
  const base = testStackConfig();
  const [port, grpcPort] = [await freePort(), await freePort()];
  const home = mkdtempSync(join(tmpdir(), 'ticklake-bq-'));
  const config: Config = { ...base, bigquery: { ...base.bigquery, apiEndpoint: `http://127.0.0.1:${port}` } };
  const server = managed(
    'bigquery-emulator',
    cachedBinary('bigquery-emulator'),
    [
      `--project=${config.bigquery.projectId}`,
      '--host=127.0.0.1',
      `--port=${port}`,
      `--grpc-port=${grpcPort}`,
      `--database=${join(home, 'bigquery.db')}`,
      '--log-level=warn',
      '--log-format=json',
    ],
    {
      home,
      healthy: async () => {
        const res = await fetch(
          `${config.bigquery.apiEndpoint}/bigquery/v2/projects/${config.bigquery.projectId}/datasets`,
        );
        return res.ok;
      },
    },
  );
  await server.start();
  return { server, config };
}

/**
 * A private Temporal dev server persisting to a SQLite file (schedules and workflows outlive a restart), headless,
 * with ticklake's search attributes; `address` is its frontend.
 */
export async function privateTemporal(namespace = 'default'): Promise<{ server: PrivateServer; address: string }> {
  const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const home = mkdtempSync(join(tmpdir(), 'ticklake-temporal-'));
  const address = `127.0.0.1:${port}`;
  const server = managed(
    'temporal',
    cachedBinary('temporal'),
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--metrics-port',
      String(metricsPort),
      '--db-filename',
      join(home, 'temporal.db'),
      '--namespace',
      namespace,
      '--log-level',
      'warn',
      ...searchAttributeFlags().flatMap((f) => ['--search-attribute', f]),
    ],
    {
      home,
      startTimeoutMs: 45_000,
      healthy: async () => {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return true;
        } finally {
          await connection.close().catch(() => undefined);
        }
      },
    },
  );
  await server.start();
  return { server, address };
}
