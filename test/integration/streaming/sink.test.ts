import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../infra/config.ts';
import { createLogger } from '../../../infra/logger.ts';
import type { DlqRecord } from '../../../core/schemas/dlq.ts';
import { kafkaClient, lakeStorage } from '../../../infra/clients.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { s3Service } from '../../../infra/stack/services/s3.ts';
import { stackDown, stackUp } from '../../../infra/stack/stack.ts';
import { committedOffsets } from '../../../lake/manifest.ts';
import { lakeLs, scanColumns } from '../../../lake/reader.ts';
import { rawTable } from '../../../lake/tables.ts';
import { runIngest } from '../../../streaming/ingest.ts';
import { FAILPOINTS } from '../../../streaming/sink/failpoints.ts';
import { SINK_TABLES } from '../../../streaming/sink/tables.ts';
import { createSyntheticSource } from '../../../streaming/sources/synthetic/source.ts';
import { topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix, readTopic } from '../../support/kafka.ts';
import { waitForGroup, waitUntil } from '../../support/wait.ts';

const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const prefix = `${uniqueName('sink')}.`;
const env = {
  ...process.env,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_TOPICS_PARTITIONS: '3',
  TICKLAKE_S3_LAKE_PREFIX: `${prefix.replace('.', '')}/`,
  TICKLAKE_SINK_MAX_ROWS: '300',
  TICKLAKE_SINK_MAX_AGE_MS: '400',
  TICKLAKE_METRICS_PORT: '29480',
  TICKLAKE_LOG_LEVEL: 'warn',
};
const config = loadConfig({ env, profile: testStackProfile() });
const kafka = kafkaClient(config, 'sink-test');
const storage = lakeStorage(config);
const log = createLogger({ test: 'sink' }, 'warn');
let children: ChildProcess[] = [];

let run = 0;

/**
 * Each run joins its own consumer group: a SIGKILLed member would otherwise hold its partitions until its session
 * times out, slowing the test by 20 s per kill. Progress lives in the manifest, so the group is irrelevant to it.
 */
function runSink(failpoint?: string): {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: string | null; stderr: string }>;
  /** Resolves once the sink consumes (a stop requested earlier would end it before its handlers exist). */
  ready: Promise<void>;
  /** The tail of its stderr so far. */
  stderr: () => string;
  groupId: string;
} {
  const groupPrefix = `sink-run-${run++}`;
  const child = spawn(process.execPath, [BIN, '--profile', 'test', 'sink', '--table', 'raw'], {
    env: {
      ...env,
      TICKLAKE_SINK_GROUP_PREFIX: groupPrefix,
      ...(failpoint ? { TICKLAKE_FAILPOINT: failpoint } : {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-5000);
    if (stderr.includes('[sink] raw ->')) markReady();
  });
  const exit = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exit, ready, stderr: () => stderr, groupId: `${prefix}${groupPrefix}-raw` };
}

async function ingest(maxTicks: number, seed: number, malformed = 0): Promise<void> {
  const source = createSyntheticSource({
    seed,
    symbols: 10,
    maxTicks,
    speed: 0,
    start: '2026-11-20T14:30:00Z',
    source: `s${seed}`,
    anomalies: malformed ? { malformed: { count: malformed, oversizedBytes: 40_000 } } : {},
  });
  await runIngest({
    config,
    kafka,
    created: { source, universe: source.universe },
    sourceName: `s${seed}`,
    log,
    signal: new AbortController().signal,
  });
}

/** Total records (heartbeats included) the sink must account for. */
async function rawEnd(): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topicName(config, 'raw'));
  await admin.disconnect();
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
}

async function waitForLake(timeoutMs = 90_000): Promise<void> {
  const end = await rawEnd();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = await committedOffsets(storage, 'raw');
    const done = [...end].every(
      ([p, high]) => high === 0n || committed.some((c) => c.partition === p && BigInt(c.nextOffset) >= high),
    );
    if (done) return;
    if (Date.now() > deadline) throw new Error(`lake did not catch up: ${JSON.stringify(committed)}`);
    await sleep(250);
  }
}

async function tableIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const cols of scanColumns(storage, rawTable)) ids.push(...(cols.id as string[]));
  return ids;
}

/** Ids of every raw record that fits the table (the others are dead-lettered, checked below). */
async function validRawIds(): Promise<string[]> {
  const raw = await readTopic(kafka, topicName(config, 'raw'));
  const ids: string[] = [];
  for (const m of raw) {
    if (SINK_TABLES.raw.isControl(m.key === null ? null : Buffer.from(m.key))) continue;
    const d = SINK_TABLES.raw.decode(m.value);
    if (d.kind === 'row') ids.push((d.row as { id: string }).id);
  }
  return ids;
}

beforeAll(async () => {
  await ingest(6_000, 1, 6);
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  await deleteTopicsWithPrefix(kafka, prefix);
  for (const o of await storage.list('')) await storage.delete(o.key);
});

describe('lake sink (raw), exactly once through the manifest', () => {
  it('survives SIGKILL at every step of a flush, several times, with every record in the table exactly once', async () => {
    let seed = 10;
    for (const point of FAILPOINTS) {
      for (const at of [1, 2]) {
        // Fresh input each round, so the crash point is always reached with work in flight.
        await ingest(900, seed++);
        const { child, exit } = runSink(`${point}:${at}`);
        const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
        const res = await exit;
        clearTimeout(timer);
        expect(res.signal, `${point}:${at} ${res.stderr.slice(-1500)}`).toBe('SIGKILL');
        expect(res.stderr).toContain(`failpoint ${point}#${at}`);
      }
    }
    const { child, exit, ready } = runSink();
    await ready;
    await waitForLake();
    child.kill('SIGTERM');
    const final = await exit;
    expect(final.code, final.stderr.slice(-1500)).toBe(0);

    const ids = await tableIds();
    const expected = await validRawIds();
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    expect([...ids].sort()).toEqual([...expected].sort()); // nothing lost
  }, 480_000);

  it('dead-letters records that do not fit the table, with the original bytes', async () => {
    await waitForLake();
    const dlq = (await readTopic(kafka, topicName(config, 'dlq'))).map(
      (m) => JSON.parse(m.value!.toString()) as DlqRecord,
    );
    const fromSink = dlq.filter((d) => d.component === 'sink-raw');
    // At least the 6 injected malformed records; a crash between the DLQ send and the manifest may repeat some.
    expect(new Set(fromSink.map((d) => `${d.partition}:${d.offset}`)).size).toBe(6);
    for (const d of fromSink) {
      expect(d.reason).toBe('table_schema_mismatch');
      expect(Buffer.from(d.original, 'base64').length).toBeGreaterThan(0);
    }
  });

  it('keeps retrying while S3 is down and resumes without loss when it is back', async () => {
    const { child, exit, ready, stderr, groupId } = runSink();
    await ready;
    // Assigned, positions read from the manifest and a flush landed before S3 goes away, so what it fails at is the
    // flush, not the start (a sink still reading its manifest when S3 died retried that instead, under load).
    await waitForGroup(kafka, groupId, 1);
    await ingest(200, 3);
    await waitForLake();
    const testConfig = loadConfig({ profile: testStackProfile() });
    await stackDown({ config: testConfig, services: [s3Service] });
    try {
      await ingest(3_000, 4);
      await waitUntil(
        () => /flush failed; retrying/.test(stderr()),
        'the sink to retry a flush against the dead S3',
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; sink stderr: ${stderr().slice(-1500)}`);
      });
      if (child.exitCode !== null) throw new Error(`sink died while S3 was down: ${(await exit).stderr.slice(-2000)}`);
    } finally {
      await stackUp({ config: testConfig, services: [s3Service] });
    }
    await waitForLake();
    child.kill('SIGTERM');
    const res = await exit;
    expect(res.code, res.stderr.slice(-1500)).toBe(0);
    expect(res.stderr).toMatch(/flush failed; retrying/);
    const ids = await tableIds();
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...(await validRawIds())].sort());
    // 3,000 ticks piled up over 3 partitions while S3 was down; they were written in chunks of at most maxRows.
    const files = (await lakeLs(storage, 'raw')).files;
    expect(Math.max(...files.map((f) => f.rows))).toBeLessThanOrEqual(300);
  }, 200_000);
});

describe('lake maintenance from the CLI on the sink’s table', () => {
  it('compacts, vacuums, and still reads every record exactly once', async () => {
    const { execFile } = await import('node:child_process');
    const cli = (...args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [BIN, '--profile', 'test', 'lake', ...args], { env }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
    const before = await tableIds();
    const filesBefore = (await cli('ls', 'raw')).trim().split('\n').length - 1;
    const compacted = await cli('compact', 'raw', '--before', '2100-01-01T00:00:00Z', '--target-mb', '1');
    expect(compacted).toMatch(/committed/);
    const filesAfter = (await cli('ls', 'raw')).trim().split('\n').length - 1;
    expect(filesAfter).toBeLessThan(filesBefore);
    await cli('vacuum', 'raw', '--keep-last', '1', '--grace-hours', '0');
    const after = await tableIds();
    expect(after.length).toBe(before.length);
    expect([...after].sort()).toEqual([...before].sort());
    const stats = JSON.parse(await cli('stats', 'raw')) as { total: { rows: number } };
    expect(stats.total.rows).toBe(before.length);
  }, 120_000);
});
