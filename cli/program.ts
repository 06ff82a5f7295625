import { Command } from 'commander';
import { examples } from './output.ts';
import { setQuiet } from './shared.ts';
import { registerAlertsCommand } from './alerts-command.ts';
import { registerAlertsEvalCommand } from './alerts-eval-command.ts';
import { registerConfigCommand } from './config-command.ts';
import { registerDashboardCommand } from './dashboard-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerIngestCommand } from './ingest-command.ts';
import { registerLakeCommand } from './lake-command.ts';
import { registerModelsCommand } from './models-command.ts';
import { registerModelsEvalCommand } from './models-eval-command.ts';
import { registerProcessCommand } from './process-command.ts';
import { registerReportCommand } from './report-command.ts';
import { registerReconcileCommand } from './reconcile-command.ts';
import { registerSchedulesCommand } from './schedules-command.ts';
import { registerSinkCommand } from './sink-command.ts';
import { registerTopicsCommand } from './topics-command.ts';
import { registerStackCommand } from './stack-command.ts';
import { registerStatusCommand } from './status-command.ts';
import { registerWarehouseCommand } from './warehouse-command.ts';
import { registerWebhooksCommand } from './webhooks-command.ts';
import { registerWorkerCommand } from './worker-command.ts';

/** The whole CLI, built without running it (tests read the command tree). */
export function buildProgram(): Command {
  const program = new Command('ticklake')
    .description('Real-time market data: Kafka streams into a Parquet lake, Temporal batch jobs, BigQuery.')
    .option('-c, --config <file>', 'YAML or JSON config file (default: $TICKLAKE_CONFIG)')
    .option('--profile <name>', '"test": use the integration-test stack (ports + 10000, own state dir)')
    .option('-q, --quiet', 'no progress output on stderr (also implied by --json)')
    .showHelpAfterError()
    // Usage errors throw instead of exiting, so cli/main.ts gives them their own exit code (docs/CLI.md).
    .exitOverride()
    .configureHelp({ showGlobalOptions: true });
  program.hook('preAction', (_root, action) => setQuiet(action.optsWithGlobals<{ quiet?: boolean }>().quiet === true));
  examples(program, [
    ['ticklake status', 'one screen: stack, processes, lag, last batch runs, freshness'],
    ['ticklake demo', 'the whole pipeline on the local stack (npm start)'],
    ['ticklake lake ls raw --json', 'machine-readable output on any command that prints data'],
    ['ticklake <command> --help', 'each command has examples'],
  ]);
  registerStatusCommand(program);
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
  registerReconcileCommand(program);
  registerAlertsCommand(program);
  registerAlertsEvalCommand(program);
  registerWebhooksCommand(program);
  registerReportCommand(program);
  registerDashboardCommand(program);
  registerModelsCommand(program);
  registerModelsEvalCommand(program);
  return program;
}
