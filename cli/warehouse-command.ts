import type { Command } from 'commander';
import { TickLakeError } from '../core/errors.ts';
import { lakeStorage, temporalClient, warehouseDeps } from '../infra/clients.ts';
import { closeDuckDb } from '../lake/duckdb.ts';
import { formatTable, plainRows } from '../warehouse/format.ts';
import { daysBetween, parseDay, WAREHOUSE_TABLES, warehouseTable } from '../warehouse/tables.ts';
import { Warehouse, type LoadResult } from '../warehouse/warehouse.ts';
import { WORKFLOW_IDS } from '../workflows/constants.ts';
import { commandProgress } from './progress.ts';
import { configFrom } from './shared.ts';

async function withWarehouse<T>(cmd: Command, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const config = configFrom(cmd);
  const storage = lakeStorage(config);
  try {
    return await fn(new Warehouse(warehouseDeps(config, storage)));
  } finally {
    storage.client.destroy();
    await closeDuckDb();
  }
}

const resultLine = (r: LoadResult) =>
  `${r.status.padEnd(9)} ${r.table} ${r.day}: ${r.rows} rows from ${r.files} files (${r.lakeRows} stored; ${r.reason})\n`;

interface LoadFlags {
  table?: string;
  day?: string;
  from?: string;
  to?: string;
  force?: boolean;
  json?: boolean;
}

export function registerWarehouseCommand(program: Command): void {
  const warehouse = program
    .command('warehouse')
    .description('The BigQuery warehouse: tables, views and loads from the lake (docs/WAREHOUSE.md)')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake warehouse apply\n  ticklake warehouse load                      # every day that changed\n  ticklake warehouse load --table ticks --day 2026-11-20 --force\n  ticklake warehouse status --json',
    );
  warehouse
    .command('apply')
    .description('Create or update the dataset, tables (day-partitioned, clustered by symbol), ledger and views')
    .option('--json', 'print the changes as JSON')
    .addHelpText('after', '\nExamples:\n  ticklake warehouse apply\n  ticklake --profile test warehouse apply --json')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const changes = await withWarehouse(cmd, (wh) => wh.apply());
      process.stdout.write(
        o.json
          ? `${JSON.stringify(changes, null, 2)}\n`
          : changes.map((c) => `${c.action.padEnd(9)} ${c.object}${c.detail ? ` (${c.detail})` : ''}\n`).join(''),
      );
    });
  warehouse
    .command('load')
    .description('Load lake days into BigQuery here, without Temporal: every changed day, or the given ones')
    .option('--table <t>', `one table (${WAREHOUSE_TABLES.map((t) => t.name).join(', ')}, or a lake name)`)
    .option('--day <YYYY-MM-DD>', 'one day')
    .option('--from <YYYY-MM-DD>', 'first day of a range')
    .option('--to <YYYY-MM-DD>', 'last day of a range')
    .option('--force', 'load even days the ledger calls unchanged')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake warehouse load                                  # every changed day, with a progress bar\n  ticklake warehouse load --table bars_1m --from 2026-11-01 --to 2026-11-30\n  ticklake warehouse load --table ticks --day 2026-11-20 --force --json',
    )
    .action(async (o: LoadFlags, cmd: Command) => {
      if (o.day && (o.from || o.to)) throw new TickLakeError('CONFIG_INVALID', '--day or --from/--to, not both');
      const range = o.day ? { from: parseDay(o.day), to: o.day } : { from: o.from, to: o.to };
      const tables = o.table ? [warehouseTable(o.table)] : WAREHOUSE_TABLES;
      const results = await withWarehouse(cmd, async (wh) => {
        const out: LoadResult[] = [];
        // Every table's days first, so the bar has its total from the start.
        const work: { table: string; day: string }[] = [];
        for (const t of tables) {
          const days = o.force || o.day ? await wh.lakeDays(t.name, range) : await wh.dueDays(t.name, range);
          for (const day of days) work.push({ table: t.name, day });
        }
        const bar = commandProgress(cmd, { label: 'load', unit: 'days', total: work.length });
        try {
          for (const { table, day } of work) {
            bar.update(out.length, { detail: `${table} ${day}` });
            const r = await wh.loadDay(table, day, { force: o.force });
            bar.clear();
            if (!o.json) process.stdout.write(resultLine(r));
            out.push(r);
            bar.update(out.length);
          }
        } finally {
          bar.finish();
        }
        return out;
      });
      if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else if (results.length === 0) process.stdout.write('nothing to load: every lake day is loaded\n');
    });
  warehouse
    .command('status')
    .description('Per table: lake days and rows, loaded days and rows, days due, last load')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  ticklake warehouse status\n  ticklake warehouse status --json | jq '.[] | select(.dueDays | length > 0)'",
    )
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const rows = await withWarehouse(cmd, (wh) => wh.status());
      if (o.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        formatTable(
          rows.map((r) => ({
            table: r.table,
            lake: r.lake,
            lake_days: r.lakeDays,
            lake_rows: r.lakeRows,
            loaded_days: r.loadedDays,
            loaded_rows: r.loadedRows,
            due: r.dueDays.length ? r.dueDays.join(' ') : '-',
            last_load: r.lastLoad ?? '-',
          })),
        ),
      );
    });

  program
    .command('query <sql>')
    .description('Run SQL on the warehouse (standard SQL; the dataset is bigquery.dataset) and print the rows')
    .option('--json', 'print the rows as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake query "SELECT COUNT(*) AS n FROM `ticklake-local.ticklake.ticks`" --json\n  ticklake query "SELECT * FROM `ticklake-local.ticklake.top_movers` WHERE mover_rank <= 5 ORDER BY day DESC"',
    )
    .action(async (sql: string, o: { json?: boolean }, cmd: Command) => {
      const rows = await withWarehouse(cmd, (wh) => wh.query(sql));
      process.stdout.write(o.json ? `${JSON.stringify(plainRows(rows), null, 2)}\n` : formatTable(rows));
    });

  program
    .command('backfill')
    .description('Re-run compactions and loads for a range of days, on the Temporal worker (waits for the result)')
    .requiredOption('--table <t>', 'a lake (raw) or warehouse (ticks) table')
    .requiredOption('--from <YYYY-MM-DD>', 'first day')
    .requiredOption('--to <YYYY-MM-DD>', 'last day')
    .option('--no-compact', 'only reload, do not compact first')
    .option('--json', 'accepted for uniformity: the result is JSON either way')
    .addHelpText(
      'after',
      '\nNeeds a running worker (ticklake worker); its progress is in the Temporal UI under backfill/<table>/<from>..<to>.\n\nExamples:\n  ticklake backfill --table raw --from 2026-11-01 --to 2026-11-07\n  ticklake backfill --table bars_1m --from 2026-11-20 --to 2026-11-20 --no-compact',
    )
    .action(async (o: { table: string; from: string; to: string; compact: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      const t = warehouseTable(o.table);
      daysBetween(o.from, o.to);
      const { client, close } = await temporalClient(config);
      try {
        const workflowId = WORKFLOW_IDS.backfill(t.lake, o.from, o.to);
        if (!cmd.optsWithGlobals<{ quiet?: boolean }>().quiet) {
          process.stderr.write(`started ${workflowId} on task queue ${config.temporal.taskQueue}\n`);
        }
        const result = await client.workflow.execute('backfillWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [{ table: t.lake, from: o.from, to: o.to, compact: o.compact }],
        });
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } finally {
        await close();
      }
    });
}
