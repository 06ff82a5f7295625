/**
 * Kafka clients compared by measurement (issue #8): every driver in bench/kafka-clients/drivers/ against the test
 * stack's broker, next to Kafka's own Java perf tools in the same run.
 *
 *   npm run bench -- kafka-clients                       (starts the test stack if it is not up)
 *   node --import tsx bench/kafka-clients.bench.ts [--records 300000] [--runs 3] [--drivers kafkajs,platformatic]
 *                                                  [--probes-only | --no-probes]
 *
 * Workloads, each in a child process of its own (so one client's GC and JIT do not tax another), clients in an
 * order rotated every run, medians of the runs:
 *  - produce: N JSON ticks of ~200 B, 50 symbols as keys, into a fresh 6-partition topic (idempotent, acks=all);
 *  - consume: the same N records (the run's kafkajs-produced topic) read_committed by a fresh group;
 *  - transform: read_committed → one transaction per batch forwarding it to a fresh topic with the offsets.
 * Rates leave out the group join (from the first records to the last); CPU is the child's process.cpuUsage over
 * the same span; peak RSS is the child's (the produce child holds the N records). Java baselines:
 * ProducerPerformance (same count, 200-byte records, acks=all, idempotent, no compression) and
 * ConsumerPerformance (read_committed; its fetch rate, which also leaves the join out); their CPU is the whole JVM's.
 *
 * Then the correctness probes (bench/kafka-clients/probes.ts) per driver, PASS/FAIL with detail.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import type { Job } from './kafka-clients/child.ts';
import {
  CANDIDATES,
  createTopics,
  dropTopics,
  ensureBenchPackages,
  runJob,
  unavailable,
} from './kafka-clients/harness.ts';
import { javaConsume, javaProduce, javaVersion, kafkaToolsClasspath } from './kafka-clients/java.ts';
import { PROBES, type ProbeResult } from './kafka-clients/probes.ts';
import { makeRecords, meanValueBytes } from './kafka-clients/records.ts';
import { median } from './support.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    runs: { type: 'string', default: '3' },
    drivers: { type: 'string' },
    'probes-only': { type: 'boolean', default: false },
    'no-probes': { type: 'boolean', default: false },
    /** Which probes to run, 1-based: "3,4". */
    probes: { type: 'string' },
  },
});
const N = Number(args.records);
const RUNS = Number(args.runs);
const config = loadConfig({ profile: testStackProfile() });
const brokers = config.kafka.brokers;
const kafka = new Kafka({ brokers, clientId: 'bench-kafka-clients', logLevel: logLevel.NOTHING });
const say = (l: string) => process.stderr.write(`${l}\n`);
const out = (l: string) => process.stdout.write(`${l}\n`);

interface Driver {
  name: string;
  version: string;
  kip447: boolean;
  file: string;
}

type Workload = 'produce' | 'consume' | 'transform';
interface Sample {
  rate: number;
  cpuUsPerRecord: number;
  rssMiB: number;
  joinSeconds?: number;
}

async function brokerReachable(): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await Promise.race([
      admin.connect().then(() => admin.describeCluster()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 10_000)),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function loadDrivers(): Promise<Driver[]> {
  const installedNote = ensureBenchPackages();
  if (installedNote) say(installedNote);
  const wanted = args.drivers?.split(',').map((s) => s.trim());
  const drivers: Driver[] = [];
  for (const c of CANDIDATES) {
    if (wanted && !wanted.includes(c.name)) continue;
    const why = unavailable(c);
    if (why) {
      out(`skipped ${c.name}: ${why}`);
      continue;
    }
    try {
      const v = await runJob({ kind: 'version', driverFile: c.file, brokers, deadlineMs: 60_000 }, 'version', 60_000);
      drivers.push({ name: v.name, version: v.version, kip447: v.kip447, file: c.file });
    } catch (err) {
      out(`skipped ${c.name}: its driver does not load (${c.pkg}): ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return drivers;
}

function rotate<T>(items: T[], by: number): T[] {
  const k = items.length ? by % items.length : 0;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function measureChild(job: Job, timeoutMs: number): Promise<Sample> {
  const m = await runJob(job, 'measured', timeoutMs);
  return {
    rate: m.records / m.seconds,
    cpuUsPerRecord: m.cpuUs / m.records,
    rssMiB: m.maxRssKiB / 1024,
    joinSeconds: m.joinSeconds,
  };
}

async function benchmark(drivers: Driver[]): Promise<void> {
  const classpath = await kafkaToolsClasspath(config, say);
  const results = new Map<string, Sample[]>();
  const failures: string[] = [];
  const add = (client: string, w: Workload, s: Sample) => {
    const k = `${client}|${w}`;
    results.set(k, [...(results.get(k) ?? []), s]);
  };
  const timeoutMs = 60_000 + N / 5;
  const base = (deadline = timeoutMs + 10_000) => ({ brokers, deadlineMs: deadline });
  const clients = ['java', ...drivers.map((d) => d.name)];
  const fileOf = (name: string) => drivers.find((d) => d.name === name)!.file;
  const stamp = Date.now().toString(36);

  for (let run = 0; run < RUNS; run++) {
    const prefix = `kcb-${stamp}-r${run}-`;
    const topics: string[] = [];
    const groups: string[] = [];
    const topic = async (name: string) => {
      const t = `${prefix}${name}`;
      topics.push(t); // before creating it: a creation that fails half way still gets the topic deleted
      await createTopics(kafka, [t]);
      return t;
    };
    try {
      let source: string | undefined;
      for (const client of rotate(clients, run)) {
        const t = await topic(`${client}-produced`);
        try {
          if (client === 'java') {
            const j = await javaProduce(classpath, brokers.join(','), t, N);
            add('java', 'produce', { rate: j.recordsPerSec, cpuUsPerRecord: j.cpuUs / N, rssMiB: j.maxRssKiB / 1024 });
          } else {
            const s = await measureChild(
              { ...base(), kind: 'produce', driverFile: fileOf(client), topic: t, records: N, tag: 't' },
              timeoutMs,
            );
            add(client, 'produce', { ...s, joinSeconds: undefined });
            // Every consumer reads the same records: those of the first JS client (kafkajs when present).
            if (client === drivers[0]?.name) source = t;
          }
        } catch (err) {
          failures.push(`run ${run + 1} ${client} produce: ${(err as Error).message.split('\n')[0]}`);
        }
        say(`run ${run + 1}/${RUNS}: ${client} produce done`);
      }
      if (!source) throw new Error(`no source topic: ${drivers[0]?.name ?? 'no driver'} could not produce`);

      for (const client of rotate(clients, run)) {
        const groupId = `${prefix}${client}-consume`;
        groups.push(groupId);
        try {
          if (client === 'java') {
            const j = await javaConsume(classpath, brokers.join(','), source, groupId, N);
            add('java', 'consume', { rate: j.recordsPerSec, cpuUsPerRecord: j.cpuUs / N, rssMiB: j.maxRssKiB / 1024 });
          } else {
            add(
              client,
              'consume',
              await measureChild(
                { ...base(), kind: 'consume', driverFile: fileOf(client), topic: source, groupId, count: N },
                timeoutMs,
              ),
            );
          }
        } catch (err) {
          failures.push(`run ${run + 1} ${client} consume: ${(err as Error).message.split('\n')[0]}`);
        }
        say(`run ${run + 1}/${RUNS}: ${client} consume done`);
      }

      for (const client of rotate(
        drivers.map((d) => d.name),
        run,
      )) {
        const output = await topic(`${client}-transformed`);
        const groupId = `${prefix}${client}-transform`;
        groups.push(groupId);
        try {
          add(
            client,
            'transform',
            await measureChild(
              {
                ...base(),
                kind: 'transform',
                driverFile: fileOf(client),
                input: source,
                output,
                groupId,
                transactionalId: `${groupId}-tx`,
                count: N,
              },
              timeoutMs,
            ),
          );
        } catch (err) {
          failures.push(`run ${run + 1} ${client} transform: ${(err as Error).message.split('\n')[0]}`);
        }
        say(`run ${run + 1}/${RUNS}: ${client} transform done`);
      }
    } catch (err) {
      failures.push(`run ${run + 1} aborted: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      await dropTopics(kafka, topics, groups);
    }
  }

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const label = (client: string) => {
    if (client === 'java') return 'Java (Kafka perf tools)';
    const d = drivers.find((x) => x.name === client)!;
    return `${d.name} ${d.version}`;
  };
  const javaLabel: Record<Workload, string> = {
    produce: 'ProducerPerformance',
    consume: 'ConsumerPerformance',
    transform: '',
  };
  out(`\nKafka clients: ${N.toLocaleString('en-US')} records, ${RUNS} runs, medians (rates leave out the group join)`);
  out('| client | workload | median rec/s | vs Java | µs CPU/record | peak RSS MiB | group join s |');
  out('|---|---|---:|---:|---:|---:|---:|');
  for (const w of ['produce', 'consume', 'transform'] as Workload[]) {
    const java = results.get(`java|${w}`);
    const javaRate = java?.length ? median(java.map((s) => s.rate)) : undefined;
    for (const client of clients) {
      const samples = results.get(`${client}|${w}`);
      if (!samples?.length) {
        if (client !== 'java' || w !== 'transform') out(`| ${label(client)} | ${w} | failed | | | | |`);
        continue;
      }
      const rate = median(samples.map((s) => s.rate));
      const ratio = javaRate && client !== 'java' ? (rate / javaRate).toFixed(2) : client === 'java' ? '1.00' : 'n/a';
      const joins = samples.map((s) => s.joinSeconds).filter((j): j is number => j !== undefined);
      out(
        `| ${client === 'java' ? `${label(client)}: ${javaLabel[w]}` : label(client)} | ${w} | ${fmt(rate)} | ${ratio} | ` +
          `${median(samples.map((s) => s.cpuUsPerRecord)).toFixed(2)}${client === 'java' ? ' (whole JVM)' : ''} | ` +
          `${Math.max(...samples.map((s) => s.rssMiB)).toFixed(0)} | ${joins.length ? median(joins).toFixed(1) : ''} |`,
      );
    }
  }
  out('\nevery run (rec/s, in run order):');
  for (const [key, samples] of results) {
    const [client, w] = key.split('|');
    out(`- ${label(client!)} ${w}: ${samples.map((s) => fmt(s.rate)).join(' / ')}`);
  }
  for (const f of failures) out(`failure: ${f}`);
}

async function probes(drivers: Driver[]): Promise<void> {
  const rows: Array<[string, ProbeResult]> = [];
  const stamp = Date.now().toString(36);
  for (const d of drivers) {
    const only = args.probes?.split(',').map(Number);
    for (const [i, probe] of PROBES.entries()) {
      if (only && !only.includes(i + 1)) continue;
      const prefix = `kcp-${stamp}-${d.name}-${i}-`;
      let r: ProbeResult;
      try {
        r = await probe({ kafka, brokers, driverFile: d.file, prefix });
      } catch (err) {
        r = {
          probe: `probe ${i + 1}`,
          verdict: 'N/A',
          detail: `could not run: ${(err as Error).message.split('\n')[0]}`,
        };
      }
      say(`probe ${d.name}: ${r.verdict} ${r.probe}`);
      rows.push([`${d.name} ${d.version}`, r]);
    }
  }
  out('\nCorrectness probes (verified by a kafkajs read_committed reader)');
  out('| client | probe | result | detail |');
  out('|---|---|---|---|');
  for (const [client, r] of rows) out(`| ${client} | ${r.probe} | **${r.verdict}** | ${r.detail} |`);
  for (const d of drivers) {
    out(`${d.name} claims KIP-447 group metadata in transactions: ${d.kip447 ? 'yes' : 'no'}`);
  }
}

async function main(): Promise<void> {
  if (!(await brokerReachable())) {
    out(
      `the test stack's broker is not reachable at ${brokers.join(',')}: start it with ` +
        '`node bin/ticklake.mjs --profile test stack up`, or run `npm run bench -- kafka-clients`',
    );
    process.exit(1);
  }
  const drivers = await loadDrivers();
  if (drivers.length === 0) throw new Error('no driver can run');
  const sample = makeRecords(1000, 't');
  out(
    `machine: ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ` +
      `${process.version}, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at start; broker Kafka ${config.stack.kafkaVersion} (KRaft, one node) on the same machine; ` +
      `${javaVersion()}; records ~${meanValueBytes(sample).toFixed(0)} B values, 50 keys, 6 partitions`,
  );
  out(`clients: ${drivers.map((d) => `${d.name} ${d.version}`).join(', ')}`);
  if (!args['probes-only']) await benchmark(drivers);
  if (!args['no-probes']) await probes(drivers);
  out(
    `load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
