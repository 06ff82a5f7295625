import type { Command } from 'commander';
import { temporalClient } from '../infra/clients.ts';
import {
  applySchedules,
  deleteSchedule,
  listSchedules,
  pauseSchedule,
  resumeSchedule,
  triggerSchedule,
} from '../infra/temporal/schedules.ts';
import { configFrom } from './shared.ts';

type JsonOpt = { json?: boolean };

async function withClient<T>(
  cmd: Command,
  fn: (client: Awaited<ReturnType<typeof temporalClient>>['client']) => Promise<T>,
) {
  const { client, close } = await temporalClient(configFrom(cmd));
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

function print(o: JsonOpt, value: unknown, text: () => string): void {
  process.stdout.write(o.json ? `${JSON.stringify(value, null, 2)}\n` : text());
}

export function registerSchedulesCommand(program: Command): void {
  const schedules = program
    .command('schedules')
    .description(
      "The batch layer's Temporal schedules (compaction sweep, vacuum, ...), declared in workflows/schedules.ts",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake schedules apply\n  ticklake schedules list --json\n  ticklake schedules pause compaction-sweep\n  ticklake schedules trigger vacuum',
    );
  schedules
    .command('apply')
    .description('Create or update every schedule; delete ticklake-* schedules no longer declared (idempotent)')
    .option('--json', 'print the changes as JSON')
    .addHelpText('after', '\nExamples:\n  ticklake schedules apply\n  ticklake --profile test schedules apply --json')
    .action(async (o: JsonOpt, cmd: Command) => {
      const config = configFrom(cmd);
      const changes = await withClient(cmd, (c) => applySchedules(c, config.temporal.taskQueue));
      print(o, changes, () => changes.map((ch) => `${ch.action.padEnd(8)} ${ch.id}\n`).join(''));
    });
  schedules
    .command('list')
    .description('Each schedule: what it runs, when, paused or not, last and next run')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  ticklake schedules list\n  ticklake schedules list --json | jq -r '.[] | select(.paused) | .id'",
    )
    .action(async (o: JsonOpt, cmd: Command) => {
      const rows = await withClient(cmd, (c) => listSchedules(c));
      print(o, rows, () =>
        rows.length === 0
          ? 'no ticklake schedules on the server: run `ticklake schedules apply`\n'
          : rows
              .map(
                (r) =>
                  `${r.id}\t${r.workflowType}\t${r.spec}\t${r.paused ? `PAUSED (${r.note})` : 'active'}\tlast ${r.lastRun ?? '-'}\tnext ${r.nextRun ?? '-'}\n`,
              )
              .join(''),
      );
    });
  for (const [name, description, fn] of [
    ['pause', 'Stop starting runs (a running one finishes)', pauseSchedule],
    ['resume', 'Start runs again on the schedule', resumeSchedule],
    ['trigger', 'Start a run now (skipped if one is running)', triggerSchedule],
    ['delete', 'Remove the schedule from the server (apply brings it back)', deleteSchedule],
  ] as const) {
    schedules
      .command(`${name} <id>`)
      .description(`${description}; <id> with or without the "ticklake-" prefix`)
      .option('--json', 'print the result as JSON')
      .addHelpText(
        'after',
        `\nExamples:\n  ticklake schedules ${name} compaction-sweep\n  ticklake schedules ${name} ticklake-vacuum --json`,
      )
      .action(async (id: string, o: JsonOpt, cmd: Command) => {
        await withClient(cmd, (c) => fn(c, id));
        print(o, { id, action: name }, () => `${name}: ${id}\n`);
      });
  }
}
