import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configPaths, configSchema, envNameFor, type Config, type ConfigInput } from '../core/config.ts';
import { deepMerge } from '../core/deep-merge.ts';
import { TickLakeError } from '../core/errors.ts';

/** The settings that depend on the machine: under $XDG_CACHE_HOME / $XDG_STATE_HOME, else the home directory. */
export function machineDefaults(env: NodeJS.ProcessEnv = process.env): ConfigInput {
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const stateHome = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return { stack: { cacheDir: join(cacheHome, 'ticklake'), stateDir: join(stateHome, 'ticklake') } };
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const path of configPaths()) {
    const value = env[envNameFor(path)];
    if (value === undefined || value === '') continue;
    const [section, key] = path.split('.') as [string, string];
    (out[section] ??= {})[key] = value;
  }
  return out;
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TickLakeError('CONFIG_INVALID', `cannot read config file ${file}`, { cause: err });
  }
  const parsed: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TickLakeError('CONFIG_INVALID', `config file ${file} must hold a mapping of sections`);
  }
  return parsed as Record<string, unknown>;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** A YAML or JSON file; defaults to $TICKLAKE_CONFIG when set. */
  file?: string;
  /** A named base layer (e.g. the test stack's ports), applied over defaults and under file and environment. */
  profile?: ConfigInput;
  /** Programmatic overrides, applied last (tests use this). */
  overrides?: ConfigInput;
}

/**
 * Defaults (machine dirs included) < profile < file < environment < overrides. Throws CONFIG_INVALID naming every bad key and where it
 * came from.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.TICKLAKE_CONFIG;
  // XDG dirs come from the process, as before: tests pass a bare `env` for settings, not for the machine.
  let raw = machineDefaults(process.env) as Record<string, unknown>;
  if (opts.profile) raw = deepMerge(raw, opts.profile as Record<string, unknown>);
  if (file) raw = deepMerge(raw, readFile(file));
  raw = deepMerge(raw, fromEnv(env));
  if (opts.overrides) raw = deepMerge(raw, opts.overrides as Record<string, unknown>);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.join('.');
      const envName = issue.path.length === 2 ? envNameFor(path) : undefined;
      const origin = envName && env[envName] !== undefined ? ` (from ${envName})` : file ? ` (from ${file})` : '';
      return `  ${path || '<root>'}${origin}: ${issue.message}`;
    });
    throw new TickLakeError('CONFIG_INVALID', `invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
