import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { TickLakeError } from '../core/errors.ts';
import { reconcileWindows, type ReconcileSummary } from '../activities/reconcile.ts';
import { lakeStorage } from '../infra/clients.ts';
import { configFrom, progressLine } from './shared.ts';
import { EXIT_CODES } from './errors.ts';

/** Exit status when disagreements pass `reconciliation.tolerance` (2 is bad input, 1 an unexpected failure). */
/** "The check said no" in the CLI's exit codes (docs/CLI.md): the data disagrees, the command itself worked. */
export const DISAGREEMENT_EXIT_CODE = EXIT_CODES.FAILED;

const MINUTE_MS = 60_000;

/** `2026-11-20` (that day's start), `2026-11-20T14:00` or any ISO time, in whole minutes, as µs. */
export function parseWhen(flag: string, text: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms)) throw new TickLakeError('INPUT_INVALID', `${flag}: not a time: ${JSON.stringify(text)}`);
  if (ms % MINUTE_MS !== 0) throw new TickLakeError('INPUT_INVALID', `${flag}: windows are whole minutes: ${text}`);
  return ms * 1000;
}

const iso = (us: number) => new Date(us / 1000).toISOString().replace(':00.000Z', 'Z');

function report(s: ReconcileSummary, tolerance: number): string {
  const lines = [`reconciled ${iso(s.fromUs)} .. ${iso(s.toUs)} (run ${s.runId}${s.written ? '' : ', not written'})`];
  lines.push('table   batch  stream  matched  late  missing_partition  disagreement  late_ticks');
  for (const [table, t] of Object.entries(s.totals)) {
    lines.push(
      `${table.padEnd(6)} ${String(t.batchRows).padStart(6)} ${String(t.streamRows).padStart(7)} ` +
        `${String(t.matched).padStart(8)} ${String(t.late).padStart(5)} ${String(t.missing_partition).padStart(18)} ` +
        `${String(t.disagreement).padStart(13)} ${String(t.lateTicks).padStart(11)}`,
    );
  }
  for (const d of s.examples.slice(0, 10)) lines.push(`  ${d.class} ${d.table} ${d.key}: ${d.detail}`);
  const over = Object.entries(s.totals).filter(([, t]) => t.disagreement > tolerance);
  lines.push(
    over.length
      ? `FAILED: disagreements above the tolerance (${tolerance}) in ${over.map(([t]) => t).join(', ')}`
      : `ok: disagreements within the tolerance (${tolerance})`,
  );
  return `${lines.join('\n')}\n`;
}

export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      'Compare the speed layer (lake bars and alerts) with the batch truth recomputed from the raw ticks over closed ' +
        'windows, classify every difference (late, missing_partition, disagreement), write the rows to the ' +
        'reconciliation table (docs/RECONCILIATION.md)',
    )
    .requiredOption('--from <time>', 'first window start: YYYY-MM-DD, or an ISO time in whole minutes (UTC)')
    .requiredOption('--to <time>', 'end of the range, exclusive; it must be closed (past lateness and sink flush)')
    .option('--json', 'print the summary as JSON')
    .option('--no-write', 'do not append the rows to the reconciliation table')
    .addHelpText(
      'after',
      "\nExit status: 0 when every table's disagreements are within reconciliation.tolerance (late and " +
        `missing_partition differences never fail), ${DISAGREEMENT_EXIT_CODE} when they are above it, ` +
        `${EXIT_CODES.DATA} on an invalid range (e.g. one not closed yet); the other codes as in docs/CLI.md.\n\nExamples:\n` +
        '  ticklake reconcile --from 2026-11-20 --to 2026-11-21\n' +
        '  ticklake reconcile --from 2026-11-20T14:00Z --to 2026-11-20T15:00Z --json --no-write',
    )
    .action(async (o: { from: string; to: string; json?: boolean; write: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      const storage = lakeStorage(config);
      try {
        const fromUs = parseWhen('--from', o.from);
        const toUs = parseWhen('--to', o.to);
        const summary = await reconcileWindows(
          { storage, config, progress: o.json ? undefined : throttled((what) => progressLine(`[reconcile] ${what}`)) },
          { fromUs, toUs, runId: `cli/${randomUUID()}`, runTs: Date.now() * 1000, write: o.write },
        );
        const tolerance = config.reconciliation.tolerance;
        process.stdout.write(
          o.json ? `${JSON.stringify({ ...summary, tolerance }, null, 2)}\n` : report(summary, tolerance),
        );
        if (Object.values(summary.totals).some((t) => t.disagreement > tolerance))
          process.exitCode = DISAGREEMENT_EXIT_CODE;
      } finally {
        storage.client.destroy();
      }
    });
}

/** At most one progress line every two seconds: a day is hundreds of partitions. */
function throttled(fn: (what: string) => void): (what: string) => void {
  let last = 0;
  return (what) => {
    const now = Date.now();
    if (now - last < 2000 && what !== 'replay') return;
    last = now;
    fn(what);
  };
}
