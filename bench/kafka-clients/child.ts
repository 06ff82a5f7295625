/**
 * One workload or probe step of one driver, in a process of its own (spawned by bench/kafka-clients.bench.ts with
 * an IPC channel): `node --import tsx bench/kafka-clients/child.ts '<job json>'`. Reports to the parent by IPC
 * messages (ChildMessage); the parent owns all timeouts and kills, and this process also ends itself after
 * `job.deadlineMs`.
 */
import { pathToFileURL } from 'node:url';
import type { ClientDriver, DriverFactory, TransformBatch } from './driver.ts';
import { makeRecords } from './records.ts';

export type Job = { driverFile: string; brokers: string[]; deadlineMs: number } & (
  | { kind: 'version' }
  | { kind: 'produce'; topic: string; records: number; tag: string }
  | { kind: 'consume'; topic: string; groupId: string; count: number }
  | { kind: 'transform'; input: string; output: string; groupId: string; transactionalId: string; count: number }
  | { kind: 'sendConcurrently'; topic: string; sends: number; perSend: number; tag: string }
  | { kind: 'abortThenCommit'; topic: string; transactionalId: string; records: number }
  | { kind: 'openTransaction'; topic: string; transactionalId: string; records: number; tag: string }
  | { kind: 'commitAsSuccessor'; topic: string; transactionalId: string; records: number; tag: string }
  | {
      kind: 'member';
      input: string;
      output: string;
      groupId: string;
      transactionalId: string;
      /** Stop (report `point` and wait for `go`) in the transaction of this batch index, at this phase. */
      stopAt?: { batch: number; phase: 'forwarded' | 'offsetsAdded' };
    }
);

export type ChildMessage =
  | { type: 'version'; name: string; version: string; kip447: boolean }
  | { type: 'measured'; seconds: number; joinSeconds: number; cpuUs: number; maxRssKiB: number; records: number }
  | { type: 'done'; seconds: number }
  | { type: 'open' }
  | { type: 'point'; batch: TransformBatch }
  | { type: 'committed'; batch: TransformBatch }
  | { type: 'failed'; message: string };

export type ParentMessage = { type: 'go' } | { type: 'exit' };

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const send = (m: ChildMessage) =>
  new Promise<void>((resolve) => {
    if (process.send) process.send(m, () => resolve());
    else resolve();
  });
const fromParent: Array<(m: ParentMessage) => void> = [];
process.on('message', (m: ParentMessage) => fromParent.splice(0).forEach((f) => f(m)));
const nextFromParent = (type: ParentMessage['type']) =>
  new Promise<void>((resolve) => {
    const wait = (m: ParentMessage) => (m.type === type ? resolve() : fromParent.push(wait));
    fromParent.push(wait);
  });
setTimeout(() => {
  process.stderr.write(`[child ${job.kind}] deadline of ${job.deadlineMs} ms passed, exiting\n`);
  process.exit(3);
}, job.deadlineMs).unref();

async function main(): Promise<void> {
  const factory = (await import(pathToFileURL(job.driverFile).href)).default as DriverFactory;
  const driver: ClientDriver = await factory({ brokers: job.brokers, clientId: `bench-${job.kind}-${process.pid}` });
  try {
    await run(driver);
  } finally {
    await driver.close();
  }
}

async function run(driver: ClientDriver): Promise<void> {
  switch (job.kind) {
    case 'version':
      await send({
        type: 'version',
        name: driver.name,
        version: driver.version,
        kip447: driver.groupMetadataInTransactions,
      });
      return;
    case 'produce': {
      const records = makeRecords(job.records, job.tag);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await driver.produce(job.topic, records);
      await sendMeasured(t0, t0, c0, records.length);
      return;
    }
    case 'consume':
    case 'transform': {
      const t0 = performance.now();
      let first = t0;
      let c0 = process.cpuUsage();
      const firstRecords = () => {
        first = performance.now();
        c0 = process.cpuUsage();
      };
      if (job.kind === 'consume') await driver.consume(job.topic, job.groupId, job.count, { firstRecords });
      else await driver.transform({ ...job, hooks: { firstRecords } });
      await sendMeasured(t0, first, c0, job.count);
      return;
    }
    case 'sendConcurrently': {
      const batches = Array.from({ length: job.sends }, (_, s) => makeRecords(job.perSend, job.tag, s));
      const t0 = performance.now();
      await driver.sendConcurrently(job.topic, batches);
      await send({ type: 'done', seconds: (performance.now() - t0) / 1000 });
      return;
    }
    case 'abortThenCommit': {
      const t0 = performance.now();
      await driver.abortThenCommit(
        job.topic,
        job.transactionalId,
        makeRecords(job.records, 'aborted'),
        makeRecords(job.records, 'committed'),
      );
      await send({ type: 'done', seconds: (performance.now() - t0) / 1000 });
      return;
    }
    case 'openTransaction':
      await driver.openTransaction(job.topic, job.transactionalId, makeRecords(job.records, job.tag));
      await send({ type: 'open' });
      await new Promise(() => {}); // the parent SIGKILLs us here
      return;
    case 'commitAsSuccessor': {
      const t0 = performance.now();
      await driver.commitAsSuccessor(job.topic, job.transactionalId, makeRecords(job.records, job.tag));
      await send({ type: 'done', seconds: (performance.now() - t0) / 1000 });
      return;
    }
    case 'member': {
      const stopAt = job.stopAt;
      const stop = async (phase: 'forwarded' | 'offsetsAdded', batch: TransformBatch) => {
        if (stopAt?.batch !== batch.index || stopAt.phase !== phase) return;
        const go = nextFromParent('go');
        await send({ type: 'point', batch });
        await go; // the parent SIGSTOPs us before it sends this
      };
      const exit = nextFromParent('exit');
      const work = driver
        .transform({
          input: job.input,
          output: job.output,
          groupId: job.groupId,
          transactionalId: job.transactionalId,
          count: Number.MAX_SAFE_INTEGER,
          hooks: {
            forwarded: (b) => stop('forwarded', b),
            offsetsAdded: (b) => stop('offsetsAdded', b),
            committed: (b) => void send({ type: 'committed', batch: b }),
          },
        })
        .catch((err: Error) => send({ type: 'failed', message: describeError(err) }));
      await Promise.race([exit, work.then(() => exit)]);
      return;
    }
  }
}

/** An error with what clients nest inside it (AggregateError members, causes, Kafka error names), on one line. */
export function describeError(err: unknown, depth = 0): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { errors?: unknown[]; apiId?: string; code?: string | number; type?: string };
  const tag = e.apiId ?? e.type ?? (typeof e.code === 'string' ? e.code : undefined);
  let text = `${e.name}${tag && tag !== e.name ? ` [${tag}]` : ''}: ${e.message}`;
  if (depth < 3) {
    const inner = [...(e.errors ?? []), ...(e.cause !== undefined ? [e.cause] : [])];
    if (inner.length) text += ` (${inner.map((i) => describeError(i, depth + 1)).join('; ')})`;
  }
  return text.slice(0, 600);
}

async function sendMeasured(t0: number, first: number, c0: NodeJS.CpuUsage, records: number): Promise<void> {
  const end = performance.now();
  const cpu = process.cpuUsage(c0);
  await send({
    type: 'measured',
    seconds: (end - first) / 1000,
    joinSeconds: (first - t0) / 1000,
    cpuUs: cpu.user + cpu.system,
    maxRssKiB: process.resourceUsage().maxRSS,
    records,
  });
}

main().then(
  () => process.exit(0),
  async (err: Error) => {
    await send({ type: 'failed', message: describeError(err) });
    process.exit(1);
  },
);
