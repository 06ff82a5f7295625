import { Command } from 'commander';
import { registerAlertsCommand } from './alerts-command.ts';
import { registerAlertsEvalCommand } from './alerts-eval-command.ts';
import { registerConfigCommand } from './config-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerIngestCommand } from './ingest-command.ts';
import { registerLakeCommand } from './lake-command.ts';
import { registerModelsCommand } from './models-command.ts';
import { registerModelsEvalCommand } from './models-eval-command.ts';
import { registerProcessCommand } from './process-command.ts';
import { registerSchedulesCommand } from './schedules-command.ts';
import { registerSinkCommand } from './sink-command.ts';
import { registerTopicsCommand } from './topics-command.ts';
import { registerStackCommand } from './stack-command.ts';
import { registerWarehouseCommand } from './warehouse-command.ts';
import { registerWebhooksCommand } from './webhooks-command.ts';
import { registerWorkerCommand } from './worker-command.ts';

/** The whole CLI, built without running it (tests read the command tree). */
export function buildProgram(): Command {
  const program = new Command('ticklake')
    .description('Real-time market data: Kafka streams into a Parquet lake, Temporal batch jobs, BigQuery.')
    .option('-c, --config <file>', 'YAML or JSON config file (default: $TICKLAKE_CONFIG)')
    .option('--profile <name>', '"test": use the integration-test stack (ports + 10000, own state dir)')
    .showHelpAfterError();
  registerStackCommand(program);
  registerDemoCommand(program);
  registerConfigCommand(program);
  registerWorkerCommand(program);
  registerTopicsCommand(program);
  registerIngestCommand(program);
  registerProcessCommand(program);
  registerSinkCommand(program);
  registerLakeCommand(program);
  registerSchedulesCommand(program);
  registerWarehouseCommand(program);
  registerAlertsCommand(program);
  registerAlertsEvalCommand(program);
  registerWebhooksCommand(program);
  registerModelsCommand(program);
  registerModelsEvalCommand(program);
  return program;
}
