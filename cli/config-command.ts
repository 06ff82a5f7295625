import type { Command } from 'commander';
import { configPaths, envNameFor, redactConfig } from '../core/config.ts';
import { configReference } from '../core/config-reference.ts';
import { configFrom } from './shared.ts';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Show the effective configuration');
  config
    .command('show', { isDefault: true })
    .description('Print the validated configuration (secrets masked)')
    .action((_opts, cmd: Command) => {
      process.stdout.write(JSON.stringify(redactConfig(configFrom(cmd)), null, 2) + '\n');
    });
  config
    .command('docs')
    .description('Print the settings reference (docs/CONFIG.md)')
    .action(() => {
      process.stdout.write(configReference());
    });
  config
    .command('env')
    .description('List every setting with its environment variable')
    .action(() => {
      for (const path of configPaths()) process.stdout.write(`${envNameFor(path)}\t${path}\n`);
    });
}
