/**
 * The parent side of bench/kafka-clients.bench.ts: which drivers exist and are installed, installing the bench's
 * own packages on demand, running a Job in a child process, and topics on the broker (kafkajs admin).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import type { ChildMessage, Job, ParentMessage } from './child.ts';

export const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Candidate {
  name: string;
  file: string;
  /** The npm package the driver uses, for messages. */
  pkg: string;
}

/** Every client under comparison; a driver file that is missing, or whose package is not installed, is skipped. */
export const CANDIDATES: Candidate[] = [
  { name: 'kafkajs', file: `${HERE}drivers/kafkajs.ts`, pkg: 'kafkajs' },
  { name: 'kafkajs-partition-txn', file: `${HERE}drivers/kafkajs-partition-txn.ts`, pkg: 'kafkajs' },
  { name: 'platformatic', file: `${HERE}drivers/platformatic.ts`, pkg: '@platformatic/kafka' },
  { name: 'confluent', file: `${HERE}drivers/confluent.ts`, pkg: '@confluentinc/kafka-javascript' },
];

function installed(pkg: string): boolean {
  return [`${HERE}node_modules/${pkg}/package.json`, `${ROOT}node_modules/${pkg}/package.json`].some((p) =>
    existsSync(p),
  );
}

/**
 * `npm ci --prefix bench/kafka-clients` when a package of its package.json is not installed yet. Returns a line
 * saying what happened, or throws when npm fails.
 */
export function ensureBenchPackages(): string | undefined {
  const manifest = JSON.parse(readFileSync(`${HERE}package.json`, 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const missing = Object.keys(manifest.dependencies ?? {}).filter((p) => !installed(p));
  if (missing.length === 0) return undefined;
  const r = spawnSync('npm', ['ci', '--prefix', HERE, '--no-audit', '--no-fund'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`npm ci --prefix bench/kafka-clients failed:\n${r.stdout}\n${r.stderr}`);
  return `installed ${missing.join(', ')} (npm ci --prefix bench/kafka-clients)`;
}

/**
 * Why a candidate cannot run, or undefined when it may: its driver file must exist. Whether its package loads
 * (from node_modules, or from wherever its driver finds it: the confluent build lives in the stack's cache) is
 * found out by loading the driver in a child process, which reports the error otherwise.
 */
export function unavailable(c: Candidate): string | undefined {
  if (!existsSync(c.file)) return `no driver (bench/kafka-clients/drivers/${c.file.split('/').pop()} does not exist)`;
  return undefined;
}

/** A job running in a child process, with its IPC messages as a queue. */
export class ChildRun {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly queue: ChildMessage[] = [];
  private waiter?: () => void;
  stderr = '';

  constructor(job: Job) {
    this.child = spawn(process.execPath, ['--import', 'tsx', `${HERE}child.ts`, JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    });
    this.child.stdout?.on('data', (d: Buffer) => process.stderr.write(d));
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-4000);
    });
    this.child.on('message', (m: ChildMessage) => {
      this.queue.push(m);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => this.waiter?.());
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The next message of one of `types` (others are dropped), or an error after `timeoutMs` or when the child exits. */
  async next<T extends ChildMessage['type']>(
    types: T[],
    timeoutMs: number,
  ): Promise<Extract<ChildMessage, { type: T }> | Extract<ChildMessage, { type: 'failed' }>> {
    const deadline = Date.now() + timeoutMs;
    let exitedAt: number | undefined;
    for (;;) {
      while (this.queue.length) {
        const m = this.queue.shift()!;
        if ((types as string[]).includes(m.type) || m.type === 'failed')
          return m as Extract<ChildMessage, { type: T }> | Extract<ChildMessage, { type: 'failed' }>;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        // Messages sent just before exiting may still be on their way.
        exitedAt ??= Date.now();
        if (Date.now() - exitedAt > 200) {
          const how = this.child.signalCode ?? `code ${this.child.exitCode}`;
          throw new Error(`child exited (${how}) before ${types.join('/')}: ${this.stderr.trim().slice(-800)}`);
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${types.join('/')} from the child within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, exitedAt ? 50 : left));
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  tell(m: ParentMessage): void {
    if (this.child.connected) this.child.send(m);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
  }

  /** Waits for the child to exit by itself for `graceMs`, then SIGKILLs it (SIGCONT first, in case it is stopped). */
  async end(graceMs: number): Promise<void> {
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      this.signal('SIGCONT');
      this.signal('SIGKILL');
      await this.exited;
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `job` to its single result message; the child is ended afterwards whatever happened. */
export async function runJob<T extends ChildMessage['type']>(
  job: Job,
  type: T,
  timeoutMs: number,
): Promise<Extract<ChildMessage, { type: T }>> {
  const run = new ChildRun(job);
  try {
    const m = await run.next([type], timeoutMs);
    if (m.type === 'failed') throw new Error((m as Extract<ChildMessage, { type: 'failed' }>).message);
    return m as Extract<ChildMessage, { type: T }>;
  } finally {
    await run.end(10_000);
  }
}

/**
 * Creates the topics and waits (up to 30 s) until every partition has a leader. Not kafkajs's waitForLeaders:
 * right after creation the metadata may still answer UNKNOWN_TOPIC_OR_PARTITION, which that wait does not retry.
 */
export async function createTopics(kafka: Kafka, topics: string[], partitions = 6): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      waitForLeaders: false,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const { topics: meta } = await admin.fetchTopicMetadata({ topics });
        const ready = meta.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0));
        if (ready) return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after 30 s`);
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the topics and consumer groups; best effort (cleanup must not hide a result). */
export async function dropTopics(kafka: Kafka, topics: string[], groups: string[] = []): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
    if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => {});
  } catch {
    // the broker went away: nothing more to clean
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Sum over partitions of the group's committed offsets for `topic` (unset partitions count 0). */
export async function committedTotal(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [g] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (g?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}
