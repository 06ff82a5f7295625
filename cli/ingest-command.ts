import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { deepMerge } from '../core/deep-merge.ts';
import { TickLakeError } from '../core/errors.ts';
import { createLogger } from '../infra/logger.ts';
import { initProcessMetrics } from '../infra/metrics.ts';
import { kafkaClient } from '../infra/clients.ts';
import { processHealth } from '../infra/health.ts';
import { startRoleMetricsServer } from '../infra/metrics-server.ts';
import { runIngest } from '../streaming/ingest.ts';
import { SOURCE_NAMES, SOURCES } from '../streaming/sources/index.ts';
import { emit, exampleText } from './output.ts';
import { commandProgress } from './progress.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

interface IngestFlags {
  source: string;
  options?: string;
  optionsFile?: string;
  set: string[];
  finalWatermark: boolean;
  file?: string[];
  json?: boolean;
}

/** `--set a.b=1` → { a: { b: 1 } }; values parse as JSON when they can (numbers, booleans, arrays). */
export function parseSets(sets: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new TickLakeError('CONFIG_INVALID', `--set ${s}: expected key=value`);
    const path = s.slice(0, eq).split('.');
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    let node = out;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]!] = value;
  }
  return out;
}

/**
 * The source's options from every flag, later ones winning: --options-file < --options < --set. Replay files may
 * also come as --file (repeatable) and positional paths, what people type first; they add to `files`.
 */
export function sourceOptions(
  source: string,
  flags: Pick<IngestFlags, 'options' | 'optionsFile' | 'set' | 'file'>,
  positional: readonly string[] = [],
): Record<string, unknown> {
  let options: Record<string, unknown> = {};
  if (flags.optionsFile) options = parseYaml(readFileSync(flags.optionsFile, 'utf8')) as Record<string, unknown>;
  if (flags.options) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.options);
    } catch (err) {
      throw new TickLakeError('CONFIG_INVALID', `--options is not JSON: ${(err as Error).message}`);
    }
    options = deepMerge(options, parsed as Record<string, unknown>);
  }
  options = deepMerge(options, parseSets(flags.set));
  const files = [...(flags.file ?? []), ...positional];
  if (files.length) {
    if (source !== 'replay') {
      throw new TickLakeError('CONFIG_INVALID', `files (${files.join(', ')}) are for --source replay, not ${source}`);
    }
    const given = Array.isArray(options.files) ? (options.files as unknown[]) : [];
    options = { ...options, files: [...given, ...files] };
  }
  return options;
}

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description(`Stream a tick source into ticks.raw (sources: ${SOURCE_NAMES.join(', ')})`)
    .requiredOption('-s, --source <name>', 'source name')
    .argument('[files...]', 'replay: the files to replay (same as --file)')
    .option('-f, --file <path>', 'replay: a file to replay; repeatable', (v, acc: string[]) => [...acc, v], [])
    .option('--options <json>', 'source options as JSON')
    .option('--options-file <file>', 'source options as a YAML or JSON file')
    .option(
      '--set <key=value>',
      'one source option, e.g. --set symbols=500 --set anomalies.priceJump.rate=0.001',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--no-final-watermark', 'on a bounded source, do not close every bar at the end')
    .option('--json', 'print the summary as JSON at the end (and no progress bar)')
    .addHelpText(
      'after',
      exampleText([
        ['ticklake ingest -s synthetic --set symbols=50', 'a live synthetic market until Ctrl-C'],
        ['ticklake ingest -s replay data/day1.csv data/day2.parquet', 'replay files: progress bar with ETA'],
        ['ticklake ingest -s replay --set speed=0 ticks.ndjson --json', 'as fast as it goes, summary as JSON'],
        ['ticklake ingest -s synthetic --set maxTicks=100000 --set speed=0', 'a bounded run (progress bar)'],
      ]),
    )
    .action(async (files: string[], flags: IngestFlags, cmd: Command) => {
      const abort = new AbortController();
      void shutdownSignal().then(() => abort.abort());
      const config = configFrom(cmd);
      const factory = SOURCES[flags.source];
      if (!factory) {
        throw new TickLakeError(
          'CONFIG_INVALID',
          `unknown source "${flags.source}" (known: ${SOURCE_NAMES.join(', ')})`,
        );
      }
      const options = sourceOptions(flags.source, flags, files);
      // The CLI draws replay's progress itself (below), with an ETA: replay's own line would be a second one.
      if (flags.source === 'replay' && options.progress === undefined) options.progress = false;
      const created = factory(options);
      const log = createLogger({ component: 'ingest', source: flags.source }, config.log.level);
      const registry = initProcessMetrics('ingest');
      // Ready once producing, until asked to stop (the process ends with the source), while Kafka has not been
      // failing past health.unreachableAfterMs.
      const health = processHealth(config, 'ingest', registry);
      abort.signal.addEventListener('abort', () => health.markStopping());
      const metrics = await startRoleMetricsServer(registry, config, 'ingest', health).catch(async (err: unknown) => {
        await created.source.close();
        throw err;
      });
      progressLine(`[ingest] ${flags.source} -> ${config.kafka.brokers.join(',')}`);
      // Bounded sources say how far they are: a bar with rate and ETA, polled (the source's getter is cheap).
      const src = created.source;
      const first = src.progress?.();
      const bar =
        first && commandProgress(cmd, { label: `ingest ${flags.source}`, unit: first.unit, total: first.total });
      const draw = () => {
        const p = src.progress?.();
        if (bar && p) bar.update(p.done, p);
      };
      const poll = bar ? setInterval(draw, 200) : undefined;
      try {
        const result = await runIngest({
          config,
          kafka: kafkaClient(config, 'ticklake-ingest'),
          created,
          sourceName: String(options.source ?? flags.source),
          log,
          registry,
          signal: abort.signal,
          finalWatermark: flags.finalWatermark,
          kafkaHealth: health.dependency('kafka'),
          onProducing: () => health.markStarted(),
        });
        draw();
        bar?.finish();
        const perSec = Math.round(result.records / Math.max(result.seconds, 0.001));
        if (flags.json)
          emit(cmd, { source: flags.source, ...result, recordsPerSec: perSec, stats: src.stats() }, () => '');
        else progressLine(`[ingest] done: ${result.records} records in ${result.seconds.toFixed(1)}s (${perSec}/s)`);
      } finally {
        clearInterval(poll);
        metrics.close();
      }
    });
}
