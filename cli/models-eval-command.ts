import type { Command } from 'commander';
import { exampleText } from './output.ts';
import { deepMerge } from '../core/deep-merge.ts';
import { pipelineOptionsFrom } from '../core/pipeline.ts';
import { loadRulesFile, rulesFilePath } from '../infra/alerts/rules-file.ts';
import { runModelEval, type ModelEvalResult } from '../streaming/models/evaluate.ts';
import { demoMarketOptions, EVAL_START } from './alerts-eval-command.ts';
import { parseSets } from './ingest-command.ts';
import { demoIngestArgs } from './pipeline.ts';
import { configFrom, progressLine } from './shared.ts';

export function registerModelsEvalCommand(program: Command): void {
  program
    .command('models-eval')
    .description(
      'Model quality: train on the labelled synthetic market, score the next stretch live and in batch; precision, recall and F1 per anomaly kind beside every rule, and false positives on clean data',
    )
    .option('--seed <n>', 'market seed', '1')
    .option('--minutes <m>', 'event-time minutes evaluated (and again on clean data)', '240')
    .option('--train-minutes <m>', 'event-time minutes of market before them to train on', '240')
    .option('--rules <file>', 'rules file (default: alerts.rulesFile, else the shipped one)')
    .option('--threshold <z>', 'flag threshold (default: models.threshold)')
    .option('--set <key=value>', 'a market option over the demo market', (v, acc: string[]) => [...acc, v], [])
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      exampleText([
        ['ticklake models-eval', 'the documented run (docs/MODELS.md), about 5 minutes'],
        ['ticklake models-eval --seed 7 --minutes 120 --json', 'another market, shorter, as JSON'],
      ]),
    )
    .action(
      (
        o: {
          seed: string;
          minutes: string;
          trainMinutes: string;
          rules?: string;
          threshold?: string;
          set: string[];
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const config = configFrom(cmd);
        const file = o.rules ?? rulesFilePath(config);
        const { rules } = loadRulesFile(file);
        const market = deepMerge(demoMarketOptions(demoIngestArgs(config)), {
          seed: Number(o.seed),
          ...parseSets(o.set),
        });
        const threshold = o.threshold === undefined ? config.models.threshold : Number(o.threshold);
        progressLine(
          `[models-eval] train ${o.trainMinutes} min, evaluate ${o.minutes} min (and ${o.minutes} clean) of the demo market, seed ${o.seed}, threshold ${threshold}, rules ${file}`,
        );
        const result = runModelEval({
          market,
          startUs: Date.parse(EVAL_START) * 1000,
          minutes: Number(o.minutes),
          trainMinutes: Number(o.trainMinutes),
          rules,
          pipeline: pipelineOptionsFrom(config),
          partitions: config.topics.partitions,
          minBars: config.models.minBars,
          threshold,
        });
        process.stdout.write(o.json ? `${JSON.stringify(result, null, 2)}\n` : formatModelEval(result));
      },
    );
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null) => (x === null ? '—' : x.toFixed(3));

export function formatModelEval(r: ModelEvalResult): string {
  const head =
    `${r.models} models for ${r.symbols} symbols (${r.skipped.length} without enough bars), trained in ${(r.trainSeconds * 1000).toFixed(0)} ms; ` +
    `${r.seconds.toFixed(1)} s in all\n\n`;
  const table =
    '| kind | detector | flagged | true | labels | detected | precision | recall | F1 |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' +
    r.rows
      .map(
        (x) =>
          `| ${x.kind} | ${x.detector} | ${x.flagged} | ${x.truePositives} | ${x.labels} | ${x.detected} | ${pct(x.precision)} | ${pct(x.recall)} | ${num(x.f1)} |`,
      )
      .join('\n');
  const summary =
    '\n\n| kind | model F1 | best rule | its F1 |\n| --- | --- | --- | --- |\n' +
    r.summary.map((s) => `| ${s.kind} | ${num(s.model)} | ${s.bestRule ?? '—'} | ${num(s.bestRuleF1)} |`).join('\n');
  const clean =
    '\n\nClean data (no labelled anomaly injected), false positives:\n\n| detector | flags | per symbol-day |\n| --- | --- | --- |\n' +
    r.clean.map((c) => `| ${c.detector} | ${c.flags} | ${c.perSymbolDay.toFixed(3)} |`).join('\n');
  const live =
    `\n\nLive model rule: ${r.live.alerts} alerts (cooldown applied), ${r.live.liveNotInBatch} on bars the batch path did not flag ` +
    `(${r.live.batchFlagged} flagged); every alert's model version is its symbol's: ${r.live.versionsMatch ? 'yes' : 'NO'}\n`;
  return head + table + summary + clean + live;
}
