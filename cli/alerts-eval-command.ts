import type { Command } from 'commander';
import { deepMerge } from '../core/deep-merge.ts';
import { pipelineOptionsFrom } from '../core/pipeline.ts';
import { loadRulesFile, rulesFilePath } from '../infra/alerts/rules-file.ts';
import { runAlertEval, type AlertEvalResult } from '../streaming/alerts/evaluate.ts';
import { parseSets } from './ingest-command.ts';
import { demoIngestArgs } from './pipeline.ts';
import { configFrom, progressLine } from './shared.ts';

/** A fixed start, so two runs with the same flags print the same numbers (midday UTC: no session roll at once). */
export const EVAL_START = '2026-03-02T12:00:00Z';

/** The demo's synthetic market options (cli/pipeline.ts), minus what only matters live (pacing, start, labels file). */
export function demoMarketOptions(args: readonly string[]): Record<string, unknown> {
  const sets = args.flatMap((a, i) => (args[i - 1] === '--set' ? [a] : []));
  const { speed: _speed, start: _start, labelsFile: _labels, ...rest } = parseSets(sets);
  return rest;
}

export function registerAlertsEvalCommand(program: Command): void {
  program
    .command('alerts-eval')
    .description(
      'Alert quality: the synthetic market with labels through the processor core and the alert rules; precision and recall per rule, fire rate',
    )
    .option('--seed <n>', 'market seed', '1')
    .option('--minutes <m>', 'event-time minutes of market', '240')
    .option('--rules <file>', 'rules file (default: alerts.rulesFile, else the shipped one)')
    .option('--partitions <n>', 'simulated ticks.raw partitions (default: topics.partitions)')
    .option(
      '--set <key=value>',
      'a market option over the demo market, e.g. --set anomalies.staleFeed.rate=0.0002',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--json', 'print the result as JSON (alerts and labels left out)')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake alerts-eval\n  ticklake alerts-eval --rules ./my-rules.yaml --minutes 60 --json | jq .quality\n  ticklake alerts-eval --set anomalies.staleFeed.rate=0.0002 --seed 7',
    )
    .action(
      (
        o: { seed: string; minutes: string; rules?: string; partitions?: string; set: string[]; json?: boolean },
        cmd: Command,
      ) => {
        const config = configFrom(cmd);
        const file = o.rules ?? rulesFilePath(config);
        const { rules } = loadRulesFile(file);
        const market = deepMerge(demoMarketOptions(demoIngestArgs(config)), {
          seed: Number(o.seed),
          start: EVAL_START,
          durationSec: Number(o.minutes) * 60,
          ...parseSets(o.set),
        });
        const partitions = Number(o.partitions ?? config.topics.partitions);
        progressLine(
          `[alerts-eval] ${o.minutes} min of the demo market, seed ${o.seed}, ${partitions} partitions, rules ${file}`,
        );
        const result = runAlertEval({ market, rules, pipeline: pipelineOptionsFrom(config), partitions });
        if (o.json) {
          const { alerts: _a, labels: _l, ...summary } = result;
          process.stdout.write(
            JSON.stringify({ ...summary, alerts: result.alerts.length, labels: result.labels.length }, null, 2) + '\n',
          );
        } else {
          process.stdout.write(formatEval(result));
        }
      },
    );
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

export function formatEval(r: AlertEvalResult): string {
  const hours = (r.endUs - r.startUs) / 3.6e9;
  const head = `${r.records} records, ${r.symbols} symbols, ${hours.toFixed(2)} h of event time, ${r.labels.length} labels; ${r.alerts.length} alerts (${r.seconds.toFixed(1)} s)\n\n`;
  const rows = r.quality.map((q) =>
    [
      q.rule,
      q.label ?? '—',
      String(q.alerts),
      String(q.truePositives),
      String(q.labels),
      String(q.detected),
      pct(q.precision),
      pct(q.recall),
      (r.firesPerSymbolHourByRule[q.rule] ?? 0).toFixed(3),
    ].join(' | '),
  );
  return (
    head +
    '| rule | judged by label | alerts | true | labels | detected | precision | recall | fires / symbol-hour |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' +
    rows.map((row) => `| ${row} |`).join('\n') +
    `\n\nAll rules: ${r.firesPerSymbolHour.toFixed(3)} alerts per symbol-hour (${(r.firesPerSymbolHour * r.symbols).toFixed(1)} per hour over ${r.symbols} symbols); the first after ${r.firstAlertAfterSec === null ? '—' : r.firstAlertAfterSec.toFixed(1)} s of event time.\n`
  );
}
