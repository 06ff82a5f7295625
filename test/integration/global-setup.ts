import { rmSync } from 'node:fs';
import { stackDown, stackUp } from '../../infra/stack/stack.ts';
import { testStackConfig } from '../support/stack.ts';

/** Starts the real local stack on test ports from a clean state dir; stops it after the run, pass or fail. */
export default async function setup(): Promise<() => Promise<void>> {
  const config = testStackConfig();
  const log = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  await stackDown({ config });
  rmSync(config.stack.stateDir, { recursive: true, force: true });
  const started = Date.now();
  try {
    await stackUp({ config, progress: log });
  } catch (err) {
    // No teardown is registered when setup throws: stop what did start before failing the run.
    await stackDown({ config });
    throw err;
  }
  log(`test stack up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return async () => {
    const stopped = await stackDown({ config });
    log(`test stack down: ${stopped.join(', ')}`);
  };
}
