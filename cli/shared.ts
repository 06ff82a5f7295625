import type { Command } from 'commander';
import { type Config } from '../core/config.ts';
import { loadConfig } from '../infra/config.ts';
import { TickLakeError } from '../core/errors.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { SINK_TABLE_NAMES, TABLES, type SinkTableName, type TableName } from '../lake/tables.ts';

/**
 * Loads config from the root command's --config, env and defaults; errors name the bad key.
 * `--profile test` targets the integration suite's stack (ports + 10000), e.g. `ticklake --profile test stack up`.
 */
export function configFrom(cmd: Command): Config {
  const opts = cmd.optsWithGlobals<{ config?: string; profile?: string }>();
  return loadConfig({ file: opts.config, profile: opts.profile === 'test' ? testStackProfile() : undefined });
}

export function progressLine(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/**
 * Resolves with the signal's name on the first SIGINT or SIGTERM. Call it first thing in a long-running command,
 * so a stop requested while the process is still starting is honoured after start-up instead of killing it mid-way.
 */
export function shutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/** A `--table` argument as a lake table name (sink and lake commands). */
export function tableName(name: string): TableName {
  if (!Object.hasOwn(TABLES, name)) {
    throw new TickLakeError('CONFIG_INVALID', `unknown table "${name}" (tables: ${Object.keys(TABLES).join(', ')})`);
  }
  return name as TableName;
}

/** A sink's `--table`: only the tables landed from topics (the batch layer writes the others). */
export function sinkTableName(name: string): SinkTableName {
  if (!(SINK_TABLE_NAMES as readonly string[]).includes(name)) {
    throw new TickLakeError('CONFIG_INVALID', `unknown sink table "${name}" (tables: ${SINK_TABLE_NAMES.join(', ')})`);
  }
  return name as SinkTableName;
}
