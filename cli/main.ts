import { CommanderError, type Command } from 'commander';
import type { Config } from '../core/config.ts';
import { loadConfig } from '../infra/config.ts';
import { testStackProfile } from '../infra/stack/profile.ts';
import { describeFailure, EXIT_CODES, formatFailure } from './errors.ts';
import { buildProgram } from './program.ts';

const program = buildProgram();
let running: Command | undefined;
program.hook('preAction', (_root, action) => {
  running = action;
});
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed its message (and the help); --help and --version end here too, with 0.
    process.exitCode = err.exitCode === 0 ? EXIT_CODES.OK : EXIT_CODES.USAGE;
  } else {
    const profile = program.opts<{ profile?: string }>().profile;
    const failure = describeFailure(err, { config: configOrUndefined(), profile, command: commandPath(running) });
    process.stderr.write(formatFailure(err, failure));
    process.exitCode = failure.exitCode;
  }
}

/** The config the command ran with, to name the endpoint that failed; none when the config itself is the problem. */
function configOrUndefined(): Config | undefined {
  const o = program.opts<{ config?: string; profile?: string }>();
  try {
    return loadConfig({ file: o.config, profile: o.profile === 'test' ? testStackProfile() : undefined });
  } catch {
    return undefined;
  }
}

function commandPath(cmd: Command | undefined): string | undefined {
  const names: string[] = [];
  for (let c = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.length ? names.join(' ') : undefined;
}
