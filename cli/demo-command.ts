import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { stackDown, stackUp } from '../infra/stack/stack.ts';
import { demoPipeline } from './pipeline.ts';
import { configFrom, progressLine } from './shared.ts';
import { formatStatus } from './stack-command.ts';

const BIN = fileURLToPath(new URL('../bin/ticklake.mjs', import.meta.url));

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('The main job: bring the stack up, run every pipeline process, stop cleanly on Ctrl-C')
    .option('--duration <seconds>', 'stop by itself after this many seconds (default: run until Ctrl-C)')
    .option('--keep-stack', 'leave the stack running on exit')
    .action(async (o: { duration?: string; keepStack?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      const statuses = await stackUp({ config, progress: progressLine });
      process.stdout.write(formatStatus(statuses) + '\n');

      const children = new Map<string, ChildProcess>();
      let stopping = false;
      const finished = new Promise<string>((resolve) => {
        const stop = (why: string) => {
          if (!stopping) {
            stopping = true;
            resolve(why);
          }
        };
        process.once('SIGINT', () => stop('Ctrl-C'));
        process.once('SIGTERM', () => stop('SIGTERM'));
        if (o.duration) setTimeout(() => stop(`--duration ${o.duration}s elapsed`), Number(o.duration) * 1000);
        for (const proc of demoPipeline(config.metrics.port)) {
          const child = spawn(process.execPath, [BIN, ...proc.args], {
            env: { ...process.env, ...proc.env },
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          children.set(proc.name, child);
          progressLine(`[demo] started ${proc.name} (pid ${child.pid}): ticklake ${proc.args.join(' ')}`);
          child.once('exit', (code, signal) => {
            children.delete(proc.name);
            if (!stopping) stop(`${proc.name} exited (${signal ?? code})`);
          });
        }
      });

      const urls = Object.assign({}, ...statuses.map((s) => s.urls)) as Record<string, string>;
      process.stdout.write(
        '\nticklake demo is running. Open:\n' +
          Object.entries(urls)
            .map(([k, v]) => `  ${k.padEnd(12)} ${v}`)
            .join('\n') +
          '\nPress Ctrl-C to stop.\n',
      );

      const why = await finished;
      progressLine(`[demo] stopping: ${why}`);
      await Promise.all(
        [...children.entries()].map(
          ([name, child]) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(kill);
                progressLine(`[demo] ${name} stopped`);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      if (!o.keepStack) {
        const stopped = await stackDown({ config });
        progressLine(`[demo] stack stopped: ${stopped.join(', ')}`);
      }
    });
}
