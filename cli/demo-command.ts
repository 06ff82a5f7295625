import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { lakeStorage, temporalClient, warehouseDeps } from '../infra/clients.ts';
import { stackDown, stackUp } from '../infra/stack/stack.ts';
import { applySchedules } from '../infra/temporal/schedules.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { newSecret } from '../streaming/webhooks/sign.ts';
import { dashboardUrl } from './dashboard-command.ts';
import { DEMO_MODEL_MIN_BARS, startDemoTraining } from './demo-models.ts';
import { demoPipeline, type PipelineProcess } from './pipeline.ts';
import { configFrom, progressLine, shutdownSignal } from './shared.ts';
import { formatStatus } from './stack-command.ts';

const BIN = fileURLToPath(new URL('../bin/ticklake.mjs', import.meta.url));
const MAX_RESTARTS = 5;

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('The main job: bring the stack up, run every pipeline process, stop cleanly on Ctrl-C')
    .option('--duration <seconds>', 'stop by itself after this many seconds (default: run until Ctrl-C)')
    .option('--keep-stack', 'leave the stack running on exit')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake demo                          # npm start: stack, pipeline, URLs; Ctrl-C stops it all\n  ticklake demo --duration 60 --keep-stack\n  ticklake --profile test demo --duration 30',
    )
    .action(async (o: { duration?: string; keepStack?: boolean }, cmd: Command) => {
      const stopRequested = shutdownSignal();
      const config = configFrom(cmd);
      const statuses = await stackUp({ config, progress: progressLine });
      process.stdout.write(formatStatus(statuses) + '\n');
      mkdirSync(join(config.stack.stateDir, 'demo'), { recursive: true });
      // The warehouse's dataset, tables and views, as `ticklake warehouse apply` would make them (idempotent), so
      // the first scheduled load has somewhere to go.
      const storage = lakeStorage(config);
      try {
        const changes = await new Warehouse(warehouseDeps(config, storage)).apply();
        const made = changes.filter((c) => c.action !== 'unchanged').length;
        progressLine(
          `[demo] warehouse dataset ${config.bigquery.dataset}: ${made} of ${changes.length} objects created or updated`,
        );
      } finally {
        storage.client.destroy();
      }
      // The batch layer's schedules, as `ticklake schedules apply` would set them (idempotent).
      const temporal = await temporalClient(config);
      try {
        for (const ch of await applySchedules(temporal.client, config.temporal.taskQueue)) {
          progressLine(`[demo] schedule ${ch.id}: ${ch.action}`);
        }
      } finally {
        await temporal.close();
      }
      // Children get the same profile and config file as we have.
      const globals = cmd.optsWithGlobals<{ config?: string; profile?: string }>();
      const prefixArgs = [
        ...(globals.profile ? ['--profile', globals.profile] : []),
        ...(globals.config ? ['--config', globals.config] : []),
      ];

      const children = new Map<string, ChildProcess>();
      let stopping = false;
      let resolveStop!: (why: string) => void;
      const finished = new Promise<string>((resolve) => (resolveStop = resolve));
      const stop = (why: string) => {
        if (!stopping) {
          stopping = true;
          resolveStop(why);
        }
      };
      void stopRequested.then((sig) => stop(sig === 'SIGINT' ? 'Ctrl-C' : sig));
      if (o.duration) setTimeout(() => stop(`--duration ${o.duration}s elapsed`), Number(o.duration) * 1000).unref();

      const restarts = new Map<string, number>();
      const launch = (proc: PipelineProcess) => {
        const child = spawn(process.execPath, [BIN, ...prefixArgs, ...proc.args], {
          env: { ...process.env, ...proc.env },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        children.set(proc.name, child);
        progressLine(`[demo] started ${proc.name} (pid ${child.pid})`);
        child.once('exit', (code, signal) => {
          children.delete(proc.name);
          if (stopping) return;
          // A crashed stage is restarted (its state recovers from Kafka); one that keeps crashing stops the demo.
          const n = (restarts.get(proc.name) ?? 0) + 1;
          restarts.set(proc.name, n);
          if (n > MAX_RESTARTS) return stop(`${proc.name} exited ${n} times (last: ${signal ?? code})`);
          progressLine(`[demo] ${proc.name} exited (${signal ?? code}); restarting in 2s (${n}/${MAX_RESTARTS})`);
          setTimeout(() => !stopping && launch(proc), 2000);
        });
      };
      const pipeline = demoPipeline(config, newSecret()).map((p) =>
        p.name === 'worker' ? { ...p, env: { ...p.env, TICKLAKE_MODELS_MIN_BARS: String(DEMO_MODEL_MIN_BARS) } } : p,
      );
      for (const proc of pipeline) launch(proc);
      const training = startDemoTraining(config);

      const urls = Object.assign({}, ...statuses.filter((s) => s.state === 'healthy').map((s) => s.urls)) as Record<
        string,
        string
      >;
      process.stdout.write(
        '\nticklake demo is running. Open:\n' +
          Object.entries({ dashboard: dashboardUrl(config), ...urls })
            .map(([k, v]) => `  ${k.padEnd(12)} ${v}`)
            .join('\n') +
          `\nLabels of injected anomalies: ${join(config.stack.stateDir, 'demo', 'labels.ndjson')}` +
          `\nAnomaly models: trained on today's bars every 5 min (first models after ~${DEMO_MODEL_MIN_BARS} min of bars); \`ticklake models ls\` lists them.` +
          `\nAlerts arrive as signed webhooks at the demo's receiver on 127.0.0.1:${config.webhooks.receiverPort} (a line per alert below: time, severity, rule, symbol, message).` +
          `\nToday's report so far (HTML + PDF into s3://${config.s3.bucket}/${config.reports.prefix}): npx ticklake report --out reports/daily` +
          '\nPress Ctrl-C to stop.\n',
      );

      const why = await finished;
      training.stop();
      progressLine(`[demo] stopping: ${why}`);
      // Stop in reverse start order: the source first, so downstream stages drain what it sent.
      for (const proc of [...pipeline].reverse()) {
        const child = children.get(proc.name);
        if (!child) continue;
        await new Promise<void>((resolve) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.once('exit', () => {
            clearTimeout(kill);
            progressLine(`[demo] ${proc.name} stopped`);
            resolve();
          });
          child.kill('SIGTERM');
        });
      }
      if (!o.keepStack) {
        const stopped = await stackDown({ config });
        progressLine(`[demo] stack stopped: ${stopped.join(', ')}`);
      }
    });
}
