/**
 * Correctness probes, each run per driver in child processes and verified by a neutral reader: kafkajs reading
 * read_committed (test/support/kafka.ts), which stops at the last stable offset, so an open transaction shows as
 * missing records. Every wait is bounded; topics and groups are deleted afterwards.
 */
import type { Kafka } from 'kafkajs';
import { fenceTransactionalId, readTopic, type ReadMessage } from '../../test/support/kafka.ts';
import { SESSION_TIMEOUT_MS, TRANSACTION_TIMEOUT_MS } from './driver.ts';
import { ChildRun, committedTotal, createTopics, dropTopics, runJob, sleep } from './harness.ts';
import { makeRecords, parseTick } from './records.ts';

export interface ProbeResult {
  probe: string;
  /** PASS / FAIL, or N/A when the probe could not be run for this client (never counted as a pass). */
  verdict: 'PASS' | 'FAIL' | 'N/A';
  detail: string;
}

export interface ProbeContext {
  kafka: Kafka;
  brokers: string[];
  driverFile: string;
  /** Unique per driver and harness run; prefixes every topic, group and transactional id. */
  prefix: string;
}

const READ = { idleMs: 2_000, timeoutMs: 30_000 };

async function read(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  return readTopic(kafka, topic, READ);
}

function ids(messages: ReadMessage[]): string[] {
  return messages.map((m) => parseTick(m.value)?.id ?? '<unparseable>');
}

/** How many of `expected` ids appear 0 times and >1 times in `seen`, and how many seen ids were not expected. */
function exactlyOnce(expected: string[], seen: string[]) {
  const count = new Map<string, number>();
  for (const id of seen) count.set(id, (count.get(id) ?? 0) + 1);
  const want = new Set(expected);
  let missing = 0;
  let duplicated = 0;
  for (const id of want) {
    const c = count.get(id) ?? 0;
    if (c === 0) missing++;
    else if (c > 1) duplicated++;
  }
  const unexpected = seen.filter((id) => !want.has(id)).length;
  return { missing, duplicated, unexpected, ok: missing === 0 && duplicated === 0 && unexpected === 0 };
}

async function withTopics<T>(ctx: ProbeContext, names: string[], groups: string[], fn: () => Promise<T>): Promise<T> {
  try {
    await createTopics(ctx.kafka, names);
    return await fn();
  } finally {
    await dropTopics(ctx.kafka, names, groups);
  }
}

const job = (ctx: ProbeContext, deadlineMs = 120_000) => ({
  driverFile: ctx.driverFile,
  brokers: ctx.brokers,
  deadlineMs,
});

/** 16 concurrent sends of 2,000 unique-id records on one idempotent producer. */
export async function probeConcurrentSends(ctx: ProbeContext): Promise<ProbeResult> {
  const probe = 'concurrent sends (16 × 2,000, one idempotent producer)';
  const topic = `${ctx.prefix}concurrent`;
  const sends = 16;
  const perSend = 2_000;
  return withTopics(ctx, [topic], [], async () => {
    const done = await runJob(
      { ...job(ctx), kind: 'sendConcurrently', topic, sends, perSend, tag: 'c' },
      'done',
      90_000,
    );
    const messages = await read(ctx.kafka, topic);
    const expected = Array.from({ length: sends }, (_, s) => makeRecords(perSend, 'c', s)).flatMap((b) =>
      b.map((r) => parseTick(r.value)!.id),
    );
    const check = exactlyOnce(expected, ids(messages));
    // Per-key order within each send: in a key's partition, a send's records of that key keep their seq order.
    let orderViolations = 0;
    const lastSeq = new Map<string, number>();
    const keyPartitions = new Map<string, Set<number>>();
    for (const m of messages) {
      const t = parseTick(m.value);
      if (!t || m.key === null) continue;
      const k = `${m.key}|${t.send}`;
      if ((lastSeq.get(k) ?? -1) >= t.seq) orderViolations++;
      lastSeq.set(k, t.seq);
      const parts = keyPartitions.get(m.key) ?? new Set<number>();
      parts.add(m.partition);
      keyPartitions.set(m.key, parts);
    }
    const splitKeys = [...keyPartitions.values()].filter((p) => p.size > 1).length;
    const ok = check.ok && orderViolations === 0 && splitKeys === 0;
    return {
      probe,
      verdict: ok ? 'PASS' : 'FAIL',
      detail:
        `${messages.length}/${expected.length} records read in ${done.seconds.toFixed(1)} s of sending; ` +
        `missing ${check.missing}, duplicated ${check.duplicated}, unexpected ${check.unexpected}, ` +
        `per-key order violations ${orderViolations}, keys on >1 partition ${splitKeys}`,
    };
  });
}

/** An aborted transaction is invisible to read_committed; the committed one after it is visible. */
export async function probeAbort(ctx: ProbeContext): Promise<ProbeResult> {
  const probe = 'aborted transaction invisible, next committed one visible';
  const topic = `${ctx.prefix}abort`;
  const records = 500;
  return withTopics(ctx, [topic], [], async () => {
    await runJob(
      { ...job(ctx), kind: 'abortThenCommit', topic, transactionalId: `${ctx.prefix}abort-tx`, records },
      'done',
      90_000,
    );
    const seen = ids(await read(ctx.kafka, topic));
    const abortedSeen = seen.filter((id) => id.startsWith('aborted-')).length;
    const check = exactlyOnce(
      makeRecords(records, 'committed').map((r) => parseTick(r.value)!.id),
      seen.filter((id) => !id.startsWith('aborted-')),
    );
    const ok = abortedSeen === 0 && check.ok;
    return {
      probe,
      verdict: ok ? 'PASS' : 'FAIL',
      detail:
        `aborted records visible ${abortedSeen}/${records}; committed: missing ${check.missing}, ` +
        `duplicated ${check.duplicated}, unexpected ${check.unexpected}`,
    };
  });
}

/** A transactional producer SIGKILLed with an open transaction is fenced by a successor with the same id. */
export async function probeKilledProducer(ctx: ProbeContext): Promise<ProbeResult> {
  const probe = 'SIGKILLed open transaction fenced by a successor';
  const topic = `${ctx.prefix}fence`;
  const transactionalId = `${ctx.prefix}fence-tx`;
  const records = 1_000;
  return withTopics(ctx, [topic], [], async () => {
    const killed = new ChildRun({
      ...job(ctx),
      kind: 'openTransaction',
      topic,
      transactionalId,
      records,
      tag: 'killed',
    });
    try {
      const open = await killed.next(['open'], 60_000);
      if (open.type === 'failed') throw new Error(`opening the transaction failed: ${open.message}`);
    } finally {
      killed.signal('SIGKILL');
      await killed.exited;
    }
    const started = performance.now();
    let successor: { seconds: number };
    try {
      successor = await runJob(
        { ...job(ctx), kind: 'commitAsSuccessor', topic, transactionalId, records, tag: 'successor' },
        'done',
        TRANSACTION_TIMEOUT_MS + 60_000,
      );
    } catch (err) {
      const wall = (performance.now() - started) / 1000;
      // Clean up for the reader (and the next probe), then report the client's failure as the result.
      await fenceTransactionalId(ctx.kafka, transactionalId).catch(() => {});
      return {
        probe,
        verdict: 'FAIL',
        detail: `the successor failed after ${wall.toFixed(1)} s: ${(err as Error).message.slice(0, 400)}`,
      };
    }
    const wall = (performance.now() - started) / 1000;
    const seen = ids(await read(ctx.kafka, topic));
    const killedSeen = seen.filter((id) => id.startsWith('killed-')).length;
    const check = exactlyOnce(
      makeRecords(records, 'successor').map((r) => parseTick(r.value)!.id),
      seen.filter((id) => !id.startsWith('killed-')),
    );
    // Waiting for the broker to time the transaction out would take TRANSACTION_TIMEOUT_MS (60 s) or more.
    const fast = successor.seconds < TRANSACTION_TIMEOUT_MS / 1000 / 3;
    const ok = killedSeen === 0 && check.ok && fast;
    return {
      probe,
      verdict: ok ? 'PASS' : 'FAIL',
      detail:
        `successor committed after ${successor.seconds.toFixed(2)} s (process ${wall.toFixed(1)} s; ` +
        `transaction timeout ${TRANSACTION_TIMEOUT_MS / 1000} s); killed records visible ${killedSeen}/${records}; ` +
        `successor's: missing ${check.missing}, duplicated ${check.duplicated}, unexpected ${check.unexpected}`,
    };
  });
}

/**
 * KIP-447 zombie fencing. Member A of group G runs `transform` and is SIGSTOPped inside a transaction of its second
 * batch, at `phase`; after its session timed out, member B takes over all partitions and commits the rest of the
 * input; B leaves; A is SIGCONTed and finishes its transaction. The output must hold every input exactly once.
 *
 * - phase 'forwarded' (before A adds its offsets): with KIP-447 the broker rejects A's TxnOffsetCommit, which
 *   carries A's stale generation; without it A's commit goes through and its batch is in the output twice.
 * - phase 'offsetsAdded' (A's offsets are pending in its open transaction): with KIP-447 B's offset fetch asks for
 *   stable offsets and waits until A's transaction ends (then continues after A's offsets); without it B reads the
 *   old offset and redoes A's batch.
 */
export async function probeZombie(ctx: ProbeContext, phase: 'forwarded' | 'offsetsAdded'): Promise<ProbeResult> {
  const probe =
    phase === 'forwarded'
      ? 'KIP-447 zombie: A stopped before adding offsets, B takes over, A resumes'
      : 'KIP-447 zombie: A stopped with offsets pending, B takes over, A resumes';
  const tag = phase === 'forwarded' ? 'zf' : 'zo';
  const input = `${ctx.prefix}${tag}-in`;
  const output = `${ctx.prefix}${tag}-out`;
  const groupId = `${ctx.prefix}${tag}-group`;
  const total = 30_000;
  const inputs = makeRecords(total, tag);
  const expected = inputs.map((r) => parseTick(r.value)!.id);
  return withTopics(ctx, [input, output], [groupId], async () => {
    const producer = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < inputs.length; i += 5_000) {
      await producer.send({ topic: input, acks: -1, messages: inputs.slice(i, i + 5_000) });
    }
    await producer.disconnect();

    const member = (name: string, stopAt?: { batch: number; phase: typeof phase }) =>
      new ChildRun({
        ...job(ctx, 240_000),
        kind: 'member',
        input,
        output,
        groupId,
        transactionalId: `${groupId}-${name}`,
        stopAt,
      });
    const notes: string[] = [];
    const a = member('A', { batch: 1, phase });
    let b: ChildRun | undefined;
    let aOutcome: string;
    let bDone = false;
    try {
      const point = await a.next(['point'], 90_000);
      if (point.type === 'failed')
        return { probe, verdict: 'N/A', detail: `A failed before the stop: ${point.message}` };
      a.signal('SIGSTOP');
      const aBatch = point.batch;
      const committedByA = await committedTotal(ctx.kafka, groupId, input);
      notes.push(
        `A stopped in batch ${aBatch.index} (${aBatch.records} records, partitions ${aBatch.partitions.join(',')}) after committing ${committedByA}`,
      );

      b = member('B');
      const stoppedAt = Date.now();
      // B can finish only once A's partitions are B's; with pending offsets (phase offsetsAdded) a KIP-447 client
      // cannot, until A's transaction ends: then resume A after a bounded wait instead.
      const waitMs = phase === 'forwarded' ? 90_000 : SESSION_TIMEOUT_MS + 12_000;
      while (Date.now() - stoppedAt < waitMs) {
        if ((await committedTotal(ctx.kafka, groupId, input)) >= total) {
          bDone = true;
          break;
        }
        if (b.child.exitCode !== null) break;
        await sleep(250);
      }
      const atResume = await committedTotal(ctx.kafka, groupId, input);
      notes.push(
        `${((Date.now() - stoppedAt) / 1000).toFixed(1)} s later the group had committed ${atResume}/${total}` +
          (bDone ? ' (B took over and finished)' : ''),
      );
      if (phase === 'forwarded') {
        b.tell({ type: 'exit' });
        await b.end(15_000);
        b = undefined;
      }

      a.signal('SIGCONT');
      a.tell({ type: 'go' });
      try {
        const outcome = await a.next(['committed'], 30_000);
        aOutcome =
          outcome.type === 'committed'
            ? `A's commit of batch ${outcome.batch.index} SUCCEEDED`
            : `A's commit was REJECTED: ${outcome.message.slice(0, 200)}`;
      } catch (err) {
        aOutcome = `A reported nothing within 30 s (${(err as Error).message.slice(0, 120)})`;
      }
      notes.push(aOutcome);

      if (b) {
        // phase offsetsAdded: B goes on after A's transaction ended, until the group committed everything.
        const until = Date.now() + 60_000;
        while (Date.now() < until && !bDone) {
          bDone = (await committedTotal(ctx.kafka, groupId, input)) >= total;
          if (!bDone) await sleep(250);
        }
        notes.push(bDone ? 'B then finished the input' : 'B did not finish the input within 60 s');
      }
    } finally {
      a.tell({ type: 'exit' });
      b?.tell({ type: 'exit' });
      await Promise.all([a.end(10_000), b?.end(10_000)]);
      // Both have ended: abort whatever a killed member left open, so the reader is not held at its LSO.
      for (const name of ['A', 'B']) await fenceTransactionalId(ctx.kafka, `${groupId}-${name}`).catch(() => {});
    }

    const finalCommitted = await committedTotal(ctx.kafka, groupId, input);
    const check = exactlyOnce(expected, ids(await read(ctx.kafka, output)));
    notes.push(`group's committed offsets at the end ${finalCommitted}/${total}`);
    notes.push(`output: missing ${check.missing}, duplicated ${check.duplicated}, unexpected ${check.unexpected}`);
    const couldNotRun = aOutcome.startsWith('A reported nothing');
    const verdict = check.ok && !couldNotRun ? 'PASS' : 'FAIL';
    return { probe, verdict, detail: notes.join('; ') };
  });
}

export const PROBES = [
  probeConcurrentSends,
  probeAbort,
  probeKilledProducer,
  (ctx: ProbeContext) => probeZombie(ctx, 'forwarded'),
  (ctx: ProbeContext) => probeZombie(ctx, 'offsetsAdded'),
];
