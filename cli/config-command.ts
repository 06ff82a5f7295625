import type { Command } from 'commander';
import { configPaths, envNameFor, redactConfig } from '../core/config.ts';
import { configReference } from '../core/config-reference.ts';
import { emit, examples } from './output.ts';
import { configFrom } from './shared.ts';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Show the effective configuration');
  examples(config, [
    ['ticklake config', 'the validated config as JSON, secrets masked'],
    ['ticklake --config prod.yaml config show', 'what a config file resolves to'],
    ['ticklake config env | grep KAFKA', 'the environment variable of each setting'],
  ]);
  config
    .command('show', { isDefault: true })
    .description('Print the validated configuration (secrets masked; always JSON)')
    .option('--json', 'accepted for uniformity: the output is JSON either way')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake config show | jq .kafka\n  TICKLAKE_KAFKA_BROKERS=k1:9092,k2:9092 ticklake config show',
    )
    .action((_opts, cmd: Command) => {
      process.stdout.write(JSON.stringify(redactConfig(configFrom(cmd)), null, 2) + '\n');
    });
  config
    .command('docs')
    .description('Print the settings reference (docs/CONFIG.md)')
    .addHelpText('after', '\nExamples:\n  ticklake config docs > docs/CONFIG.md')
    .action(() => {
      process.stdout.write(configReference());
    });
  config
    .command('env')
    .description('List every setting with its environment variable')
    .option('--json', 'print [{ env, path }] as JSON')
    .addHelpText('after', '\nExamples:\n  ticklake config env\n  ticklake config env --json')
    .action((_o, cmd: Command) => {
      const rows = configPaths().map((path) => ({ env: envNameFor(path), path }));
      emit(cmd, rows, (r) => r.map((x) => `${x.env}\t${x.path}\n`).join(''));
    });
}
