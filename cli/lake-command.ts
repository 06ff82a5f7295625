import type { Command } from 'commander';
import { compactTable } from '../lake/compaction.ts';
import { closeDuckDb, configureDuckDb } from '../lake/duckdb.ts';
import { expireSnapshots, removeOrphans } from '../lake/manifest.ts';
import { changesSince } from '../lake/changes.ts';
import { lakeCat, lakeLs, lakeStats } from '../lake/reader.ts';
import { TABLES } from '../lake/tables.ts';
import { lakeStorage } from '../infra/clients.ts';
import { configFrom, tableName } from './shared.ts';
import { TickLakeError } from '../core/errors.ts';

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
  const lake = program.command('lake').description('Read the lake: files, statistics, rows');
  lake
    .command('ls <table>')
    .description('Live files of the latest (or --seq) snapshot')
    .option('--seq <n>', 'snapshot number')
    .option('--partition <p>', 'e.g. dt=2026-11-20/hour=14')
    .action(async (table: string, o: { seq?: string; partition?: string }, cmd: Command) => {
      const res = await lakeLs(lakeStorage(configFrom(cmd)), tableName(table), {
        seq: o.seq === undefined ? undefined : Number(o.seq),
        partition: o.partition,
      });
      process.stdout.write(`${res.table} snapshot ${res.seq ?? '-'}: ${res.files.length} files\n`);
      for (const f of res.files) process.stdout.write(`${f.path}\t${f.rows} rows\t${f.bytes} bytes\n`);
    });
  lake
    .command('stats <table>')
    .description('Per-partition files, rows and bytes, and the committed source offsets')
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
    .action(async (table: string, o: { targetMb?: string; before?: string }, cmd: Command) => {
      const config = configFrom(cmd);
      await configureDuckDb({
        threads: config.compaction.duckdbThreads,
        memoryLimit: config.compaction.duckdbMemoryLimit,
      });
      const results = await compactTable(lakeStorage(config), TABLES[tableName(table)], {
        targetBytes: Number(o.targetMb ?? config.compaction.targetMb) * 1024 * 1024,
        beforeUs: parseTime(o.before) ?? (Date.now() - 3600_000) * 1000,
      });
      await closeDuckDb();
      for (const r of results) {
        process.stdout.write(
          `${r.partition}	${r.status}	${r.inputFiles.length} -> ${r.outputFiles.length} files	${r.rowsIn} -> ${r.rowsOut} rows\n`,
        );
      }
      if (!results.length) process.stdout.write('nothing to compact\n');
    });
  lake
    .command('vacuum <table>')
    .description('Expire old snapshots, then delete files no retained snapshot references')
    .option('--keep-last <n>', 'snapshots always kept', '20')
    .option('--grace-hours <h>', 'keep snapshots and unreferenced files younger than this', '24')
    .option('--dry-run', 'list orphans without deleting them')
    .action(async (table: string, o: { keepLast: string; graceHours: string; dryRun?: boolean }, cmd: Command) => {
      const storage = lakeStorage(configFrom(cmd));
      const name = tableName(table);
      const graceMs = Number(o.graceHours) * 3600_000;
      const expired = o.dryRun
        ? []
        : await expireSnapshots(storage, name, { keepLast: Number(o.keepLast), maxAgeMs: graceMs });
      const orphans = await removeOrphans(storage, name, { graceMs, dryRun: o.dryRun });
      process.stdout.write(
        `expired ${expired.length} snapshots; ${o.dryRun ? 'would delete' : 'deleted'} ${orphans.length} orphans\n`,
      );
      for (const k of orphans) process.stdout.write(`  ${k}\n`);
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
