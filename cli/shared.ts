import type { Command } from 'commander';
import { loadConfig, type Config } from '../core/config.ts';

/** Loads config from the root command's --config, env and defaults; errors name the bad key. */
export function configFrom(cmd: Command): Config {
  const opts = cmd.optsWithGlobals<{ config?: string }>();
  return loadConfig({ file: opts.config });
}

export function progressLine(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}
