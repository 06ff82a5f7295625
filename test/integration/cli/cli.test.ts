import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import type { StatusReport } from '../../../cli/status.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix } from '../../support/kafka.ts';
import { freePort, waitFor } from '../../support/servers.ts';

/**
 * The CLI as people run it: the real binary against the shared test stack, checking what it prints on stdout
 * (JSON that parses), on stderr (progress, what to do next) and its exit code (docs/CLI.md).
 */
const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const prefix = `${uniqueName('cli')}.`;
const env: Record<string, string> = {
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_PROCESSOR_GROUP_ID: `${prefix}processor`,
  TICKLAKE_ALERTS_GROUP_ID: `${prefix}alerts`,
  TICKLAKE_S3_LAKE_PREFIX: `${prefix.replace('.', '')}/`,
};
const config = loadConfig({ env, profile: testStackProfile() });

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })),
  );
}

/** A metrics port per role that only this file's processes use, so other people's processes do not show up. */
const ports: Record<string, string> = {};
beforeAll(async () => {
  for (const role of ['WORKER', 'PROCESS', 'SINK', 'INGEST', 'ALERTS', 'WEBHOOKS']) {
    ports[`TICKLAKE_METRICS_${role}_PORT`] = String(await freePort());
  }
  Object.assign(env, ports);
});

afterAll(async () => {
  await deleteTopicsWithPrefix(kafkaClient(config), prefix);
});

describe('ticklake status against the running test stack', () => {
  let processor: ChildProcess | undefined;
  afterAll(() => {
    processor?.kill('SIGTERM');
  });

  it('reports the stack, a running processor with its group and lag, batch runs and freshness; exit 0', async () => {
    processor = spawn(process.execPath, [BIN, '--profile', 'test', 'process'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let processorErr = '';
    processor.stderr!.on('data', (d: Buffer) => (processorErr += d.toString()));
    const healthz = `http://127.0.0.1:${ports.TICKLAKE_METRICS_PROCESS_PORT}/healthz`;
    await waitFor(
      `processor healthy (${processorErr.slice(-500)})`,
      async () => (await fetch(healthz).catch(() => undefined))?.status === 200,
      90_000,
    );

    // A generous deadline per part: the machine is shared, and this asserts content, not speed.
    const r = await run(['--profile', 'test', 'status', '--json', '--timeout', '30000']);
    const s = JSON.parse(r.stdout) as StatusReport;
    if (!s.stack.ok || !s.processes.ok || !s.lag.ok || !s.batch.ok || !s.freshness.ok) {
      throw new Error(`a part failed: ${r.stdout}\n${r.stderr.slice(-2000)}`);
    }
    // The shared stack's own health checks can miss their 1-2 s deadlines on this loaded machine: `ok` and the exit
    // code must follow the required services' states, whatever they were at that moment.
    const required = s.stack.services.filter((x) => x.name !== 'prometheus');
    expect(s.ok).toBe(required.every((x) => x.state === 'healthy' || x.state === 'skipped'));
    expect(r.code, r.stderr.slice(-2000)).toBe(s.ok ? 0 : 1);
    expect(s.stack.services.find((x) => x.name === 'kafka')).toMatchObject({ ports: [19092, 19093] });
    expect(s.stack.services.find((x) => x.name === 'kafka')!.state).not.toBe('stopped');
    const byRole = Object.fromEntries(s.processes.processes.map((p) => [p.role, p.state]));
    expect(byRole).toEqual({
      worker: 'down',
      process: 'up',
      sink: 'down',
      ingest: 'down',
      alerts: 'down',
      webhooks: 'down',
      dashboard: 'down',
    });
    const group = s.lag.groups.find((g) => g.group === `${prefix}processor`);
    expect(group).toMatchObject({ topic: `${prefix}ticks.raw`, state: 'Stable', members: 1 });
    expect(group!.partitions).toBe(config.topics.partitions);
    // The sink groups of this prefix never ran: no commits, no lag number.
    expect(s.lag.groups.find((g) => g.group === `${prefix}ticklake-sink-raw`)).toMatchObject({ lag: null, members: 0 });
    expect(s.batch.runs.map((b) => b.workflowType)).toEqual(
      expect.arrayContaining([
        'compactionSweepWorkflow',
        'vacuumWorkflow',
        'warehouseLoadSweepWorkflow',
        'backfillWorkflow',
      ]),
    );
    for (const b of s.batch.runs) expect(b.status === null || /^[A-Z_]+$/.test(b.status)).toBe(true);
    expect(Array.isArray(s.freshness.tables)).toBe(true);

    const text = await run(['--profile', 'test', 'status', '--timeout', '30000']);
    expect(text.code, text.stdout).toBeLessThanOrEqual(1);
    expect(text.stdout).toMatch(text.code === 0 ? /^ticklake status at .*: OK$/m : /^ticklake status at .*: NOT OK$/m);
    for (const heading of ['STACK', 'PROCESSES', 'CONSUMER LAG', 'LAST BATCH RUNS', 'WAREHOUSE FRESHNESS']) {
      expect(text.stdout).toContain(`\n${heading}`);
    }
    expect(text.stdout).toMatch(
      new RegExp(`process +up +http://127\\.0\\.0\\.1:${ports.TICKLAKE_METRICS_PROCESS_PORT}/healthz`),
    );
    expect(text.stdout).toMatch(
      new RegExp(
        `${prefix.replace('.', '\\.')}processor +${prefix.replace('.', '\\.')}ticks\\.raw +(\\d+|-) +Stable +1`,
      ),
    );
  }, 180_000);
});

describe('ticklake status when nothing is running', () => {
  it('says what is down and what to run, within seconds, and exits 1', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'ticklake-status-'));
    const closed = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const down = {
      TICKLAKE_STACK_STATE_DIR: stateDir,
      TICKLAKE_KAFKA_BROKERS: `127.0.0.1:${closed[0]}`,
      TICKLAKE_TEMPORAL_ADDRESS: `127.0.0.1:${closed[1]}`,
      TICKLAKE_S3_ENDPOINT: `http://127.0.0.1:${closed[2]}`,
      TICKLAKE_BIGQUERY_API_ENDPOINT: `http://127.0.0.1:${closed[3]}`,
    };
    try {
      const r = await run(['status', '--json'], down);
      expect(r.code, r.stderr).toBe(1);
      const s = JSON.parse(r.stdout) as StatusReport;
      expect(s.ok).toBe(false);
      if (!s.stack.ok) throw new Error(s.stack.error);
      expect(new Set(s.stack.services.map((x) => x.state))).toEqual(new Set(['stopped']));
      expect(s.lag).toEqual({ ok: false, error: `127.0.0.1:${closed[0]} refused the connection (ECONNREFUSED)` });
      expect(s.batch).toEqual({ ok: false, error: `127.0.0.1:${closed[1]} refused the connection (ECONNREFUSED)` });
      expect(s.freshness.ok).toBe(false);
      // Refused connections are not retried for seconds: against a baseline run of the binary that connects to
      // nothing (start-up alone is seconds on this shared machine), status adds little.
      const baseline = await run(['config', 'env'], down);
      expect(r.ms - baseline.ms).toBeLessThan(8_000);

      const text = await run(['status'], down);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('NOT OK');
      expect(text.stdout).toContain('Kafka unreachable');
      expect(text.stdout).toContain('next: ticklake stack up');
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('exit codes and what to do next (docs/CLI.md)', () => {
  it('0 for --help, 2 for bad usage', async () => {
    expect((await run(['lake', '--help'])).code).toBe(0);
    const bad = await run(['lake', 'ls', 'raw', '--no-such-flag']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--no-such-flag'");
  }, 180_000);

  it('3 for a bad setting, naming the key and its variable; 3 for a bad argument, pointing at --help', async () => {
    const r = await run(['topics', 'list'], { TICKLAKE_TOPICS_PARTITIONS: 'many' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('topics.partitions (from TICKLAKE_TOPICS_PARTITIONS)');
    expect(r.stderr).toContain('next: fix the setting named above');
    const arg = await run(['--profile', 'test', 'lake', 'ls', 'nosuch']);
    expect(arg.code).toBe(3);
    expect(arg.stderr).toContain('unknown table "nosuch"');
    expect(arg.stderr).toContain('next: check the arguments: ticklake lake ls --help');
  }, 180_000);

  it('4 when a server is unreachable, naming it, its setting, and the command that starts the stack', async () => {
    const port = await freePort();
    const r = await run(['--profile', 'test', 'lake', 'ls', 'raw'], {
      TICKLAKE_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`ticklake: S3 at 127.0.0.1:${port} is unreachable`);
    expect(r.stderr).toContain('next: start the stack: ticklake --profile test stack up');
    expect(r.stderr).toContain('s3.endpoint (TICKLAKE_S3_ENDPOINT)');
    expect(r.stderr).not.toMatch(/\n {4}at /); // no stack trace for an expected failure
  }, 180_000);

  it('5 for bad input, 6 for a taken port (naming the setting)', async () => {
    const input = await run(['--profile', 'test', 'stack', 'logs', 'nosuch-service']);
    expect(input.code).toBe(5);
    expect(input.stderr).toContain('INPUT_INVALID: unknown service nosuch-service');

    const holder: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)),
    );
    try {
      const taken = await run(['--profile', 'test', 'ingest', '-s', 'synthetic', '--set', 'maxTicks=10'], {
        TICKLAKE_METRICS_INGEST_PORT: String(port),
      });
      expect(taken.code).toBe(6);
      expect(taken.stderr).toContain(`PORT_IN_USE: metrics port 127.0.0.1:${port} is already in use`);
      expect(taken.stderr).toContain('TICKLAKE_METRICS_INGEST_PORT');
    } finally {
      holder.close();
    }
  }, 180_000);
});

describe('--json and progress', () => {
  it('data commands print JSON that parses, with their documented shapes', async () => {
    const topics = await run(['--profile', 'test', 'topics', 'list', '--json']);
    expect(topics.code).toBe(0);
    const list = JSON.parse(topics.stdout) as { name: string; partitions: number; configs: object }[];
    expect(list.find((t) => t.name === `${prefix}ticks.raw`)).toMatchObject({ partitions: config.topics.partitions });

    const envs = JSON.parse((await run(['config', 'env', '--json'])).stdout) as { env: string; path: string }[];
    expect(envs).toContainEqual({ env: 'TICKLAKE_KAFKA_BROKERS', path: 'kafka.brokers' });

    const ls = await run(['--profile', 'test', 'lake', 'ls', 'raw', '--json']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toMatchObject({ table: 'raw', files: [] });

    const stack = await run(['--profile', 'test', 'stack', 'status', '--json']);
    const services = JSON.parse(stack.stdout) as { name: string; state: string; ports: number[] }[];
    expect(services.map((x) => x.name)).toEqual(expect.arrayContaining(['kafka', 'temporal', 's3', 'bigquery']));
    // Exit 1 exactly when a required service is not healthy (the JSON is printed either way).
    const allUp = services.filter((x) => x.name !== 'prometheus').every((x) => x.state === 'healthy');
    expect(stack.code).toBe(allUp ? 0 : 1);
  }, 240_000);

  it('a bounded ingest draws plain progress lines off a terminal, and none with --json', async () => {
    const plain = await run([
      '--profile',
      'test',
      'ingest',
      '-s',
      'synthetic',
      '--set',
      'maxTicks=3000',
      '--set',
      'speed=0',
    ]);
    expect(plain.code, plain.stderr.slice(-2000)).toBe(0);
    expect(plain.stderr).not.toContain('\r');
    expect(plain.stderr).toMatch(/^ingest synthetic: 100% 3000\/3000 ticks, [\d.k]+ ticks\/s, ETA 0s$/m);

    const json = await run([
      '--profile',
      'test',
      'ingest',
      '-s',
      'replay',
      '--set',
      'speed=0',
      '--json',
      fileURLToPath(new URL('../../fixtures/replay/trades-ms.csv', import.meta.url)),
    ]);
    expect(json.code, json.stderr.slice(-2000)).toBe(0);
    expect(json.stderr).not.toMatch(/ingest replay:/);
    expect(JSON.parse(json.stdout)).toMatchObject({ source: 'replay', records: 6 });

    const replay = await run([
      '--profile',
      'test',
      'ingest',
      '-s',
      'replay',
      '--set',
      'speed=0',
      fileURLToPath(new URL('../../fixtures/replay/trades-ms.csv', import.meta.url)),
      fileURLToPath(new URL('../../fixtures/replay/quotes-ns.ndjson', import.meta.url)),
    ]);
    expect(replay.code).toBe(0);
    expect(replay.stderr).toMatch(/^ingest replay: 100% 12 rows, .* \(file 2\/2 quotes-ns\.ndjson\)$/m);
  }, 240_000);

  it('on a terminal, one line redrawn in place with a bar, rate and ETA', async () => {
    // util-linux `script` runs the binary on a pseudo-terminal, as a person's shell would.
    const cmd = [process.execPath, BIN, '--profile', 'test', 'ingest', '-s', 'synthetic']
      .concat(['--set', 'maxTicks=20000', '--set', 'speed=0'])
      .map((a) => `'${a}'`)
      .join(' ');
    const r = await new Promise<Run>((resolve) => {
      const started = Date.now();
      const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
        env: { ...process.env, ...env, CI: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.once('exit', (code) => resolve({ code, stdout, stderr: '', ms: Date.now() - started }));
    });
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    const redraws = r.stdout.split('\r').filter((l) => l.startsWith('ingest synthetic  ['));
    expect(redraws.length, r.stdout.slice(-2000)).toBeGreaterThanOrEqual(1);
    expect(redraws.at(-1)).toMatch(
      /^ingest synthetic {2}\[#{24}\] {2}100% {2}20\.0k\/20\.0k ticks {2}[\d.k]+ ticks\/s {2}ETA 0s/,
    );
    expect(r.stdout).toContain('\x1b[K');
  }, 240_000);
});
