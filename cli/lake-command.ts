import type { Command } from 'commander';
import { compactTable } from '../lake/compaction.ts';
import { changesSince } from '../lake/changes.ts';
import { vacuumTable } from '../lake/vacuum.ts';
import { lakeCat, lakeLs, lakeStats } from '../lake/reader.ts';
import { TABLES } from '../lake/tables.ts';
import { compactionDuckDb, lakeStorage } from '../infra/clients.ts';
import { configFrom, tableName } from './shared.ts';
import { TickLakeError } from '../core/errors.ts';
import { emit, examples } from './output.ts';
import { commandProgress } from './progress.ts';

function parseTime(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new TickLakeError('CONFIG_INVALID', `not a time: ${v} (µs since epoch or ISO-8601)`);
  return ms * 1000;
}

interface CatFlags {
  from?: string;
  to?: string;
  symbols?: string;
  limit: string;
  all?: boolean;
  columns?: string;
}

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim());

export function registerLakeCommand(program: Command): void {
  const lake = program.command('lake').description('Read and maintain the lake: files, statistics, rows, compaction');
  examples(lake, [
    ['ticklake lake stats raw', 'partitions, files, rows, committed offsets'],
    ['ticklake lake cat bars --symbols AAPL --limit 5', 'rows as NDJSON'],
    ['ticklake lake compact raw', 'merge small files (progress bar with ETA)'],
    ['ticklake lake ls raw --json', 'machine-readable'],
  ]);
  lake
    .command('ls <table>')
    .description('Live files of the latest (or --seq) snapshot')
    .option('--seq <n>', 'snapshot number')
    .option('--partition <p>', 'e.g. dt=2026-11-20/hour=14')
    .option('--json', 'print { table, seq, files: [...] } as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake lake ls raw\n  ticklake lake ls bars --partition dt=2026-11-20/hour=14 --json',
    )
    .action(async (table: string, o: { seq?: string; partition?: string }, cmd: Command) => {
      const res = await lakeLs(lakeStorage(configFrom(cmd)), tableName(table), {
        seq: o.seq === undefined ? undefined : Number(o.seq),
        partition: o.partition,
      });
      emit(
        cmd,
        res,
        (r) =>
          `${r.table} snapshot ${r.seq ?? '-'}: ${r.files.length} files\n` +
          r.files.map((f) => `${f.path}\t${f.rows} rows\t${f.bytes} bytes\n`).join(''),
      );
    });
  lake
    .command('stats <table>')
    .description('Per-partition files, rows and bytes, and the committed source offsets (always JSON)')
    .option('--json', 'accepted for uniformity: the output is JSON either way')
    .addHelpText('after', '\nExamples:\n  ticklake lake stats raw\n  ticklake lake stats bars | jq .total')
    .action(async (table: string, _o, cmd: Command) => {
      process.stdout.write(
        JSON.stringify(await lakeStats(lakeStorage(configFrom(cmd)), tableName(table)), null, 2) + '\n',
      );
    });
  lake
    .command('compact <table>')
    .description('Merge small files of closed hour partitions into sorted, deduplicated files (idempotent)')
    .option('--target-mb <n>', 'target file size (default: compaction.targetMb)')
    .option('--before <time>', 'only partitions that ended before this (default: an hour ago)')
    .option('--json', 'print the result per partition as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake lake compact raw\n  ticklake lake compact bars --before 2026-11-20T00:00:00Z --target-mb 64 --json',
    )
    .action(async (table: string, o: { targetMb?: string; before?: string }, cmd: Command) => {
      const config = configFrom(cmd);
      const storage = lakeStorage(config);
      const duckdb = compactionDuckDb(config);
      const bar = commandProgress(cmd, { label: `compact ${table}`, unit: 'partitions' });
      const results = await compactTable({ storage, duckdb }, TABLES[tableName(table)], {
        targetBytes: Number(o.targetMb ?? config.compaction.targetMb) * 1024 * 1024,
        beforeUs: parseTime(o.before) ?? (Date.now() - 3600_000) * 1000,
        onTableProgress: (p) =>
          bar.update(p.partitions.done, {
            total: p.partitions.total,
            detail: p.current
              ? `${p.current.partition} ${p.current.stage} ${p.current.rows.done}/${p.current.rows.total} rows`
              : undefined,
          }),
      }).finally(async () => {
        bar.finish();
        storage.client.destroy();
        await duckdb.close();
      });
      emit(cmd, results, (rs) =>
        rs.length
          ? rs
              .map(
                (r) =>
                  `${r.partition}\t${r.status}\t${r.inputFiles.length} -> ${r.outputFiles.length} files\t${r.rowsIn} -> ${r.rowsOut} rows\n`,
              )
              .join('')
          : 'nothing to compact\n',
      );
    });
  lake
    .command('vacuum <table>')
    .description('Expire old snapshots, then delete files no retained snapshot references')
    .option('--keep-last <n>', 'snapshots always kept', '20')
    .option('--grace-hours <h>', 'keep snapshots and unreferenced files younger than this', '24')
    .option('--dry-run', 'list orphans without deleting them')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake lake vacuum raw --dry-run\n  ticklake lake vacuum bars --keep-last 5 --grace-hours 1 --json',
    )
    .action(async (table: string, o: { keepLast: string; graceHours: string; dryRun?: boolean }, cmd: Command) => {
      const storage = lakeStorage(configFrom(cmd));
      const bar = commandProgress(cmd, { label: `vacuum ${table}`, unit: 'orphans' });
      const r = await vacuumTable({ storage }, tableName(table), {
        keepLast: Number(o.keepLast),
        graceMs: Number(o.graceHours) * 3600_000,
        dryRun: o.dryRun,
        onProgress: (p) => bar.update(p.orphans.done, { total: p.orphans.total, detail: p.stage }),
      }).finally(() => {
        bar.finish();
        storage.client.destroy();
      });
      emit(
        cmd,
        r,
        (v) =>
          `expired ${v.expiredSnapshots} snapshots; ${o.dryRun ? 'would delete' : 'deleted'} ${v.orphans.length} orphans\n` +
          v.orphans.map((k) => `  ${k}\n`).join(''),
      );
    });
  lake
    .command('cat <table>')
    .description("Rows as NDJSON, pruned by time range and symbols; one per key (a bar's latest revision) unless --all")
    .option('--from <time>', 'inclusive, µs since epoch or ISO-8601')
    .option('--to <time>', 'exclusive')
    .option('--symbols <list>', 'comma-separated')
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--all', 'every stored row: all revisions of a bar, redelivered ticks (default: the latest of each key)')
    .option('--columns <list>', 'comma-separated; only these (and the time, symbol and key columns) are read')
    .addHelpText(
      'after',
      '\nOutput is NDJSON (one JSON row per line) either way.\n\nExamples:\n  ticklake lake cat bars --symbols AAPL,MSFT --from 2026-11-20T14:00:00Z --limit 10\n  ticklake lake cat raw --all --columns price,size | jq .price',
    )
    .action(async (table: string, o: CatFlags, cmd: Command) => {
      const def = TABLES[tableName(table)];
      for await (const line of lakeCat(lakeStorage(configFrom(cmd)), def, {
        fromUs: parseTime(o.from),
        toUs: parseTime(o.to),
        symbols: list(o.symbols),
        limit: Number(o.limit),
        all: o.all,
        columns: list(o.columns),
      })) {
        process.stdout.write(line + '\n');
      }
    });
  lake
    .command('changes <table>')
    .description('Partitions whose files differ between snapshot N and the latest (added, changed, removed)')
    .requiredOption('--since <n>', 'snapshot number to compare from')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake lake changes raw --since 12\n  ticklake lake changes bars --since 3 --json',
    )
    .action(async (table: string, o: { since: string; json?: boolean }, cmd: Command) => {
      if (!/^\d+$/.test(o.since)) throw new TickLakeError('CONFIG_INVALID', `--since must be a snapshot number`);
      const res = await changesSince(lakeStorage(configFrom(cmd)), tableName(table), Number(o.since));
      if (res.status === 'expired') process.exitCode = 1;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
      } else if (res.status === 'expired') {
        process.stderr.write(`${res.message}\n`);
      } else {
        process.stdout.write(
          `${res.table} snapshot ${res.sinceSeq} -> ${res.seq}: ${res.partitions.length} partitions changed\n`,
        );
        for (const p of res.partitions) {
          const rows = `${p.before?.rows ?? 0} -> ${p.after?.rows ?? 0} rows`;
          process.stdout.write(
            `${p.partition}\t${p.change}\t${p.before?.files ?? 0} -> ${p.after?.files ?? 0} files\t${rows}\n`,
          );
        }
      }
    });
}
