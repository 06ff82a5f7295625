import { Command } from 'commander';
import { isTickLakeError } from '../core/errors.ts';
import { registerConfigCommand } from './config-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerStackCommand } from './stack-command.ts';
import { registerWorkerCommand } from './worker-command.ts';

const program = new Command('ticklake')
  .description('Real-time market data: Kafka streams into a Parquet lake, Temporal batch jobs, BigQuery.')
  .option('-c, --config <file>', 'YAML or JSON config file (default: $TICKLAKE_CONFIG)')
  .option('--profile <name>', '"test": use the integration-test stack (ports + 10000, own state dir)')
  .showHelpAfterError();

registerStackCommand(program);
registerDemoCommand(program);
registerConfigCommand(program);
registerWorkerCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isTickLakeError(err)) {
    process.stderr.write(`ticklake: ${err.code}: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`ticklake: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
