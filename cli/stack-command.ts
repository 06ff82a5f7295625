import type { Command } from 'commander';
import {
  provisionStack,
  stackDown,
  stackLogs,
  stackStatus,
  stackUp,
  type ServiceStatus,
} from '../infra/stack/stack.ts';
import { emit, examples } from './output.ts';
import { configFrom, progressLine } from './shared.ts';

export function formatStatus(statuses: ServiceStatus[]): string {
  const rows = statuses.map((s) => [
    s.name,
    s.state,
    s.pid ? String(s.pid) : '-',
    s.ports.join(',') || '-',
    s.note ?? Object.values(s.urls).join(' '),
  ]);
  const header = ['SERVICE', 'STATE', 'PID', 'PORTS', 'ENDPOINTS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function registerStackCommand(program: Command): void {
  const stack = program
    .command('stack')
    .description('The local stack: Kafka, Temporal, S3, BigQuery emulator, Prometheus');
  examples(stack, [
    ['ticklake stack up', 'provision (first run: minutes), start, health-check'],
    ['ticklake stack status --json', 'each service as JSON'],
    ['ticklake --profile test stack up', "the integration tests' stack (ports + 10000)"],
  ]);

  stack
    .command('provision')
    .description('Install binaries and jars into the cache without starting anything')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake stack provision   # e.g. in a CI image build, so `stack up` only starts',
    )
    .action(async (_o, cmd: Command) => {
      const skipped = await provisionStack({ config: configFrom(cmd), progress: progressLine });
      for (const [name, why] of skipped) progressLine(`[${name}] skipped: ${why}`);
      progressLine('provisioned');
    });

  stack
    .command('up')
    .description('Provision, start and health-check every service (idempotent)')
    .option('--json', 'print each service as JSON once up')
    .addHelpText('after', '\nExamples:\n  ticklake stack up\n  ticklake --profile test stack up --json')
    .action(async (_o, cmd: Command) => {
      const started = Date.now();
      const statuses = await stackUp({ config: configFrom(cmd), progress: progressLine });
      emit(cmd, statuses, formatStatus);
      progressLine(`stack up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    });

  stack
    .command('down')
    .description('Stop the processes this stack started (pid files only)')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake stack down\n  ticklake --profile test stack down   # only the test stack',
    )
    .action(async (_o, cmd: Command) => {
      const stopped = await stackDown({ config: configFrom(cmd), progress: progressLine });
      progressLine(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
    });

  stack
    .command('status')
    .description('Show each service; exit 1 when a required service is not healthy (ticklake status shows more)')
    .option('--json', 'print [{ name, state, pid, ports, urls, note }] as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake stack status\n  ticklake stack status --json | jq -r \'.[] | select(.state != "healthy") | .name\'',
    )
    .action(async (_o, cmd: Command) => {
      const statuses = await stackStatus({ config: configFrom(cmd) });
      emit(cmd, statuses, formatStatus);
      if (statuses.some((s) => s.name !== 'prometheus' && s.state !== 'healthy')) process.exitCode = 1;
    });

  stack
    .command('logs [service]')
    .description('Print the last lines of each service log')
    .option('-n, --lines <n>', 'lines per service', '40')
    .addHelpText('after', '\nExamples:\n  ticklake stack logs kafka -n 100\n  ticklake --profile test stack logs')
    .action((service: string | undefined, o: { lines: string }, cmd: Command) => {
      process.stdout.write(stackLogs({ config: configFrom(cmd), service, lines: Number(o.lines) }) + '\n');
    });
}
