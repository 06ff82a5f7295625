/**
 * Kafka's own perf tools as baselines, run on the jars the stack's broker runs from (`kafkaJars`), plus
 * `kafka-tools-<version>.jar`, which holds ProducerPerformance and ConsumerPerformance but is not a broker
 * dependency: it is resolved once with Maven into <cache>/kafka-tools-<version>/ (the same version as the broker).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../core/config.ts';
import { kafkaJars, requireCommand, run } from '../../infra/stack/toolchain.ts';

export async function kafkaToolsClasspath(config: Config, progress: (l: string) => void): Promise<string> {
  const { cacheDir, kafkaVersion } = config.stack;
  const libs = await kafkaJars(cacheDir, kafkaVersion, progress);
  const dir = join(cacheDir, `kafka-tools-${kafkaVersion}`);
  const jar = join(dir, `kafka-tools-${kafkaVersion}.jar`);
  if (!existsSync(jar)) {
    requireCommand('mvn', ['-v']);
    const tmp = `${dir}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    progress(`resolving org.apache.kafka:kafka-tools:${kafkaVersion} with Maven (first time only)`);
    await run('mvn', [
      '-B',
      '-q',
      'dependency:copy',
      `-Dartifact=org.apache.kafka:kafka-tools:${kafkaVersion}`,
      `-DoutputDirectory=${tmp}`,
    ]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return `${libs}/*:${jar}`;
}

export function javaVersion(): string {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return (r.stderr || r.stdout).split('\n')[0]?.replace(/^openjdk version /, 'OpenJDK ') ?? 'java';
}

export interface JavaResult {
  recordsPerSec: number;
  /** CPU of the whole JVM (start-up and JIT included), µs. */
  cpuUs: number;
  maxRssKiB: number;
  line: string;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime+stime (µs) and VmHWM (KiB) of a live process, from /proc. */
function procSample(pid: number): { cpuUs: number; hwmKiB: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
    const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    // An exited process (a zombie until reaped) has no memory figures left: keep the previous sample.
    return hwm ? { cpuUs: (ticks / CLK_TCK) * 1e6, hwmKiB: Number(hwm[1]) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a tool to completion (killed after `timeoutMs`), sampling its CPU and peak RSS from /proc every 100 ms and
 * once more when `resultLine` matches a line of its output (the tools print their result just before exiting).
 */
function runTool(
  args: string[],
  resultLine: RegExp,
  timeoutMs: number,
): Promise<{ out: string; line: string; cpuUs: number; maxRssKiB: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let line = '';
    let last = { cpuUs: 0, hwmKiB: 0 };
    const sample = () => {
      const s = child.pid ? procSample(child.pid) : undefined;
      if (s) last = s;
    };
    const timer = setInterval(sample, 100);
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let seen = false;
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (!seen && out.split('\n').some((l) => resultLine.test(l))) {
        seen = true;
        sample();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(timer);
      clearTimeout(killer);
      // The result line may have arrived in pieces, and without a final newline: take it from the whole output.
      line = out.split('\n').findLast((l) => resultLine.test(l)) ?? '';
      if (code !== 0 || !line) reject(new Error(`java ${args.at(-1)} exited with ${code}:\n${out.slice(-2000)}`));
      else resolve({ out, line, cpuUs: last.cpuUs, maxRssKiB: last.hwmKiB });
    });
  });
}

/** `kafka-producer-perf-test`: N records of 200 B, acks=all, idempotent, no compression, 256 KiB batches, no throttle. */
export async function javaProduce(cp: string, brokers: string, topic: string, records: number): Promise<JavaResult> {
  const args = [
    '-cp',
    cp,
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    '200',
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${brokers}`,
    'acks=all',
    'enable.idempotence=true',
    'compression.type=none',
    // Batched as the clients under test are (the defaults, 16 KiB batches, halve it here): the broker's ceiling,
    // not the Java client's defaults.
    'batch.size=262144',
    'linger.ms=5',
  ];
  const r = await runTool(args, /records sent, [\d.]+ records\/sec/, 180_000);
  const rate = Number(/records sent, ([\d.]+) records\/sec/.exec(r.line)?.[1]);
  return { recordsPerSec: rate, cpuUs: r.cpuUs, maxRssKiB: r.maxRssKiB, line: r.line.trim() };
}

/** `kafka-consumer-perf-test` read_committed from the earliest offset; the rate excludes the group join. */
export async function javaConsume(
  cp: string,
  brokers: string,
  topic: string,
  group: string,
  records: number,
): Promise<JavaResult> {
  const props = join(tmpdir(), `kcb-consumer-${process.pid}.properties`);
  mkdirSync(tmpdir(), { recursive: true });
  writeFileSync(props, 'isolation.level=read_committed\nauto.offset.reset=earliest\n');
  const args = [
    '-cp',
    cp,
    'org.apache.kafka.tools.ConsumerPerformance',
    '--bootstrap-server',
    brokers,
    '--topic',
    topic,
    '--group',
    group,
    '--messages',
    String(records),
    '--timeout',
    '30000',
    '--consumer.config',
    props,
  ];
  try {
    // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
    // fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    const r = await runTool(args, /^\d{4}-\d\d-\d\d [\d:]+, /, 180_000);
    const cols = r.line.split(',').map((s) => s.trim());
    const rate = Number(cols[9]);
    return { recordsPerSec: rate, cpuUs: r.cpuUs, maxRssKiB: r.maxRssKiB, line: r.line.trim() };
  } finally {
    rmSync(props, { force: true });
  }
}
