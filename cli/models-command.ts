import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { exampleText } from './output.ts';
import { temporalClient } from '../infra/clients.ts';
import { lakeStorage } from '../infra/clients.ts';
import { readLatestModels } from '../lake/models.ts';
import { parseDay } from '../warehouse/tables.ts';
import { WORKFLOW_IDS } from '../workflows/constants.ts';
import { configFrom, progressLine } from './shared.ts';

/** `ticklake models train | score | ls`: the anomaly model's batch runs on the Temporal worker, on demand. */
export function registerModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description('Anomaly models: train, score a day, list the latest')
    .addHelpText(
      'after',
      exampleText([
        ['ticklake models train', 'fit every symbol on the trailing window'],
        ['ticklake models ls', 'the version each symbol is scored with'],
        ['ticklake models score --day 2026-11-20', "score a day's bars into the anomalies table"],
      ]),
    );

  models
    .command('train')
    .description('Train every symbol’s model on the lake’s bars (on the Temporal worker; waits for the result)')
    .option('--from <YYYY-MM-DD>', 'first day of the training window (default: models.windowDays before --to)')
    .option('--to <YYYY-MM-DD>', 'last day of the training window (default: yesterday, UTC)')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      `
Examples:
  ticklake models train                                  # the trailing models.windowDays up to yesterday
  ticklake models train --from 2026-11-20 --to 2026-11-26 --json`,
    )
    .action(async (o: { from?: string; to?: string; json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      if (o.from) parseDay(o.from);
      if (o.to) parseDay(o.to);
      const { client, close } = await temporalClient(config);
      try {
        const workflowId = WORKFLOW_IDS.modelTraining(
          `${o.from ?? 'default'}..${o.to ?? 'yesterday'}-${randomBytes(3).toString('hex')}`,
        );
        progressLine(`[models] started ${workflowId} on task queue ${config.temporal.taskQueue}`);
        const r = await client.workflow.execute('modelTrainingWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [{ from: o.from, to: o.to }],
        });
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          process.stdout.write(
            `${r.from}..${r.to}: ${r.bars} bars, ${r.trained} models (${r.changed} new versions, ${r.written} stored), ` +
              `${r.skipped.length} symbols without enough bars${r.skipped.length ? `: ${r.skipped.slice(0, 10).join(', ')}` : ''}\n`,
          );
        }
      } finally {
        await close();
      }
    });

  models
    .command('score')
    .description('Score a day’s closed bars into the anomalies table and BigQuery (on the worker; waits)')
    .option('--day <YYYY-MM-DD>', 'the day (default: yesterday, UTC)')
    .option('--no-load', 'do not load the day into BigQuery afterwards')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      exampleText([
        ['ticklake models score', "yesterday's bars with the latest models, then BigQuery"],
        ['ticklake models score --day 2026-11-20 --no-load --json', 'the lake only, the outcome as JSON'],
      ]),
    )
    .action(async (o: { day?: string; load: boolean; json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      if (o.day) parseDay(o.day);
      const { client, close } = await temporalClient(config);
      try {
        const workflowId = WORKFLOW_IDS.anomalyScoring(`${o.day ?? 'yesterday'}-${randomBytes(3).toString('hex')}`);
        progressLine(`[models] started ${workflowId} on task queue ${config.temporal.taskQueue}`);
        const r = await client.workflow.execute('anomalyScoringWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [{ day: o.day, load: o.load }],
        });
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          process.stdout.write(
            `${r.day}: ${r.rows} bars scored, ${r.flagged} flagged, ${r.unscored.length} symbols without a model; ` +
              `${r.committed} partitions written, ${r.unchanged} unchanged; BigQuery load: ${r.load}\n`,
          );
        }
      } finally {
        await close();
      }
    });

  models
    .command('ls')
    .description('The latest model of each symbol in the lake (models/latest.json)')
    .option('--json', 'print the models as JSON')
    .addHelpText(
      'after',
      exampleText(['ticklake models ls', ['ticklake models ls --json | jq ".[].version"', 'versions only']]),
    )
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const storage = lakeStorage(configFrom(cmd));
      const list = await readLatestModels(storage);
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else {
        process.stdout.write(
          '| symbol | version | window | bars | price r² / σ | volume r² / σ |\n| --- | --- | --- | --- | --- | --- |\n',
        );
        for (const m of list) {
          const w = `${new Date(m.window.fromUs / 1000).toISOString().slice(0, 10)}..${new Date(m.window.toUs / 1000 - 1).toISOString().slice(0, 10)}`;
          const f = (k: 'price' | 'volume') => `${m.metrics[k].r2.toFixed(3)} / ${m.metrics[k].residualStd.toFixed(3)}`;
          process.stdout.write(
            `| ${m.symbol} | ${m.version} | ${w} | ${m.window.bars} | ${f('price')} | ${f('volume')} |\n`,
          );
        }
      }
      storage.client.destroy();
    });
}
