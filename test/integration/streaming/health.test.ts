import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport, HealthReport } from '../../../infra/health.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { committedOffsets } from '../../../lake/manifest.ts';
import { S3Storage } from '../../../lake/storage/s3.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix } from '../../support/kafka.ts';
import { freePort, privateS3, waitFor, type PrivateServer } from '../../support/servers.ts';

/**
 * `ticklake sink` as a real process against the test stack's Kafka and an S3 of this file's own: /healthz tells
 * the truth. Ready once it consumes; its S3 killed while records wait to land, it answers 503 naming `s3` and
 * since when, once the outage has lasted past health.unreachableAfterMs (and not before); ready again when S3 is
 * back, with the records landed. /livez stays 200 throughout: restarting the sink would not bring S3 back.
 */
const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const BOUND_MS = 3_000;
const prefix = `${uniqueName('health')}.`;
const log = createLogger({ test: 'health' }, 'warn');

let s3: PrivateServer;
let storage: S3Storage;
let child: ChildProcess | undefined;
let stderr = '';
let port: number;
let env: NodeJS.ProcessEnv;

const kafkaConfig = () => loadConfig({ env, profile: testStackProfile() });

async function health(path = '/healthz'): Promise<{ status: number; body: HealthReport }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as HealthReport };
}

const check = (report: HealthReport, name: string): CheckReport | undefined =>
  report.checks.find((c) => c.name === name);

async function ingest(maxTicks: number, seed: number): Promise<void> {
  const config = kafkaConfig();
  const source = createSyntheticSource({ seed, symbols: 5, maxTicks, speed: 0, start: '2026-11-20T14:30:00Z' });
  await runIngest({
    config,
    kafka: kafkaClient(config, 'health-test'),
    created: { source, universe: source.universe },
    sourceName: 'synthetic',
    log,
    signal: new AbortController().signal,
  });
}

async function landedRecords(): Promise<bigint> {
  const offsets = await committedOffsets(storage, 'raw');
  return offsets.reduce((n, o) => n + BigInt(o.nextOffset), 0n);
}

beforeAll(async () => {
  const priv = await privateS3();
  s3 = priv.server;
  port = await freePort();
  env = {
    ...process.env,
    TICKLAKE_TOPICS_PREFIX: prefix,
    TICKLAKE_TOPICS_PARTITIONS: '2',
    TICKLAKE_S3_ENDPOINT: priv.config.s3.endpoint,
    TICKLAKE_SINK_MAX_AGE_MS: '300',
    TICKLAKE_METRICS_PORT: String(port),
    TICKLAKE_METRICS_LAG_INTERVAL_MS: '500',
    TICKLAKE_HEALTH_UNREACHABLE_AFTER_MS: String(BOUND_MS),
    TICKLAKE_LOG_LEVEL: 'warn',
  };
  storage = new S3Storage(priv.config.s3, { prefix: priv.config.s3.lakePrefix });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  const config = kafkaConfig();
  await deleteTopicsWithPrefix(kafkaClient(config, 'health-test-cleanup'), prefix);
  storage?.client.destroy();
  await s3?.close();
});

describe('the sink process’s /healthz', () => {
  it('is 503 until it consumes, then 200 with every check passing', async () => {
    child = spawn(process.execPath, [BIN, '--profile', 'test', 'sink', '--table', 'raw'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-5000)));
    let first: { status: number; body: HealthReport } | undefined;
    await waitFor('the metrics server', async () => ((first ??= await health()), true), 30_000);
    // Its first answer comes before the consumer joined (the server starts first): not ready, and it says why.
    if (first!.status === 503) expect(check(first!.body, 'started')).toMatchObject({ ok: false });
    await waitFor('ready', async () => (await health()).status === 200, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${stderr}`);
    });
    const { body } = await health('/readyz');
    expect(body.status).toBe('ok');
    expect(body.role).toBe('sink');
    expect(check(body, 'started')).toMatchObject({ ok: true });
    expect(check(body, 'kafka')).toMatchObject({ ok: true }); // the lag monitor's reads reached the broker

    await ingest(400, 1);
    await waitFor('records landed', async () => (await landedRecords()) > 0n, 60_000);
    expect(check((await health()).body, 's3')).toMatchObject({ ok: true });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^ticklake_ready\{[^}]*\} 1$/m);
    expect(metrics).toMatch(new RegExp(`^ticklake_consumer_lag\\{[^}]*group="${prefix}ticklake-sink-raw"`, 'm'));
  }, 120_000);

  it('answers 503 naming s3 and since when once S3 has been down past the bound, and recovers', async () => {
    const before = await landedRecords();
    await s3.kill();
    const killedAt = Date.now();
    await ingest(400, 2); // records to land: the flush fails and is retried
    let report: HealthReport | undefined;
    await waitFor(
      'a 503',
      async () => {
        const r = await health();
        report = r.body;
        return r.status === 503;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(report)}\n${stderr}`);
    });
    const s3Check = check(report!, 's3');
    expect(s3Check?.ok).toBe(false);
    expect(s3Check?.detail).toMatch(/^unreachable for \d+\.\ds \(bound 3\.0s, health\.unreachableAfterMs\): /);
    const since = Date.parse(s3Check!.since!);
    expect(since).toBeGreaterThanOrEqual(killedAt - 1000);
    // Not before the bound: the first failure is at `since`, and the 503 came at least the bound later.
    expect(Date.now() - since).toBeGreaterThanOrEqual(BOUND_MS);
    expect(report!.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['s3']);
    expect((await health('/livez')).status).toBe(200);

    await s3.start();
    await waitFor('ready again', async () => (await health()).status === 200, 60_000);
    await waitFor('the outage’s records landed', async () => (await landedRecords()) > before, 60_000);
  }, 150_000);
});
