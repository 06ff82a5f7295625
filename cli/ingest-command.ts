import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { TickLakeError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { initProcessMetrics } from '../core/metrics.ts';
import { kafkaClient } from '../infra/clients.ts';
import { startMetricsServer } from '../infra/metrics-server.ts';
import { runIngest } from '../streaming/ingest.ts';
import { SOURCE_NAMES, SOURCES } from '../streaming/sources/index.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';

interface IngestFlags {
  source: string;
  options?: string;
  optionsFile?: string;
  set: string[];
  finalWatermark: boolean;
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

function mergeDeep(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v)
        ? mergeDeep(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description(`Stream a tick source into ticks.raw (sources: ${SOURCE_NAMES.join(', ')})`)
    .requiredOption('-s, --source <name>', 'source name')
    .option('--options <json>', 'source options as JSON')
    .option('--options-file <file>', 'source options as a YAML or JSON file')
    .option(
      '--set <key=value>',
      'one source option, e.g. --set symbols=500 --set anomalies.priceJump.rate=0.001',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--no-final-watermark', 'on a bounded source, do not close every bar at the end')
    .action(async (flags: IngestFlags, cmd: Command) => {
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
      let options: Record<string, unknown> = {};
      if (flags.optionsFile) options = parseYaml(readFileSync(flags.optionsFile, 'utf8')) as Record<string, unknown>;
      if (flags.options) options = mergeDeep(options, JSON.parse(flags.options) as Record<string, unknown>);
      options = mergeDeep(options, parseSets(flags.set));
      const created = factory(options);
      const log = createLogger({ component: 'ingest', source: flags.source }, config.log.level);
      const registry = initProcessMetrics('ingest');
      const metrics = await startMetricsServer(registry, config.metrics.port, () => true, config.metrics.host);
      progressLine(`[ingest] ${flags.source} -> ${config.kafka.brokers.join(',')}`);
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
        });
        progressLine(
          `[ingest] done: ${result.records} records in ${result.seconds.toFixed(1)}s (${Math.round(result.records / Math.max(result.seconds, 0.001))}/s)`,
        );
      } finally {
        metrics.close();
      }
    });
}
