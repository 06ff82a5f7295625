import type { Command } from 'commander';
import { ago, emit, examples, textTable, withJson } from './output.ts';
import { configFrom } from './shared.ts';
import { gatherStatus, type StatusReport } from './status.ts';
import { TickLakeError } from '../core/errors.ts';
import { EXIT_CODES } from './errors.ts';

const down = (what: string, error: string, next: string) => `  ${what} unreachable: ${error}\n  next: ${next}\n`;

export function formatStatusReport(r: StatusReport, opts: { profile?: string } = {}): string {
  const now = Date.parse(r.generatedAt);
  const p = opts.profile ? ` --profile ${opts.profile}` : '';
  const out: string[] = [`ticklake status at ${r.generatedAt}: ${r.ok ? 'OK' : 'NOT OK'}\n`];

  out.push('\nSTACK\n');
  if (!r.stack.ok) out.push(`  ${r.stack.error}\n`);
  else {
    out.push(
      textTable(
        ['SERVICE', 'STATE', 'PORTS'],
        r.stack.services.map((s) => [s.name, s.state, s.ports.join(',') || '-']),
      ),
    );
    if (r.stack.services.some((s) => s.state !== 'healthy' && s.state !== 'skipped' && s.name !== 'prometheus')) {
      out.push(`  next: ticklake${p} stack up\n`);
    }
  }

  out.push('\nPROCESSES (/healthz)\n');
  if (!r.processes.ok) out.push(`  ${r.processes.error}\n`);
  else {
    out.push(
      textTable(
        ['ROLE', 'STATE', 'ENDPOINT', 'FAILING'],
        r.processes.processes.map((x) => [x.role, x.state, x.url, x.failing.join('; ') || '-']),
      ),
    );
  }

  out.push('\nCONSUMER LAG\n');
  if (!r.lag.ok) out.push(down('Kafka', r.lag.error, `ticklake${p} stack up`));
  else {
    out.push(
      textTable(
        ['GROUP', 'TOPIC', 'LAG', 'STATE', 'MEMBERS'],
        r.lag.groups.map((g) => [g.group, g.topic, g.lag === null ? '-' : String(g.lag), g.state, String(g.members)]),
      ),
    );
  }

  out.push('\nLAST BATCH RUNS (Temporal)\n');
  if (!r.batch.ok) out.push(down('Temporal', r.batch.error, `ticklake${p} stack up`));
  else {
    out.push(
      textTable(
        ['WORKFLOW', 'STATUS', 'STARTED', 'CLOSED', 'ID'],
        r.batch.runs.map((b) => [
          b.workflowType,
          (b.status ?? 'never ran') +
            (b.lastClosed ? ` (before: ${b.lastClosed.status} ${ago(b.lastClosed.closedAt, now)})` : ''),
          ago(b.startedAt, now),
          ago(b.closedAt, now),
          b.workflowId ?? '-',
        ]),
      ),
    );
  }

  out.push('\nWAREHOUSE FRESHNESS\n');
  if (!r.freshness.ok)
    out.push(down('BigQuery or S3', r.freshness.error, `ticklake${p} stack up, then ticklake${p} warehouse apply`));
  else if (r.freshness.note) out.push(`  ${r.freshness.note}\n`);
  else {
    out.push(
      textTable(
        ['TABLE', 'LATEST EVENT', 'AGE', 'LAST LOAD'],
        r.freshness.tables.map((t) => [
          t.table,
          t.maxEventAt ?? 'nothing loaded',
          t.ageSec === null ? '-' : ago(t.maxEventAt, now).replace(' ago', ''),
          ago(t.lastLoadAt, now),
        ]),
      ),
    );
  }
  return out.join('');
}

export function registerStatusCommand(program: Command): void {
  const status = program
    .command('status')
    .description(
      'One screen: stack services, pipeline processes, consumer lag, last batch runs, warehouse freshness; exit 1 when something required is down',
    )
    .option('--timeout <ms>', 'how long each part may take to answer', '10000');
  withJson(status);
  examples(status, [
    ['ticklake status', 'what is up, what is behind, what ran last'],
    ['ticklake --profile test status --json', 'the same as one JSON document (docs/CLI.md)'],
    ['ticklake status --json | jq .lag.groups', 'just the consumer lag'],
  ]);
  status.action(async (o: { timeout: string }, cmd: Command) => {
    const timeoutMs = Number(o.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new TickLakeError('CONFIG_INVALID', `--timeout must be a positive number of ms, not ${o.timeout}`);
    }
    const report = await gatherStatus(configFrom(cmd), { timeoutMs });
    const profile = cmd.optsWithGlobals<{ profile?: string }>().profile;
    emit(cmd, report, (r) => formatStatusReport(r, { profile }));
    if (!report.ok) process.exitCode = EXIT_CODES.FAILED;
  });
}
