import { rmSync } from 'node:fs';
import { stackDown, stackStatus, stackUp } from '../../infra/stack/stack.ts';
import { testStackConfig } from '../support/stack.ts';

/**
 * Starts the real local stack on test ports from a clean state dir and stops it after the run, pass or fail.
 * With TICKLAKE_TEST_REUSE_STACK=1 a test stack that is already healthy is used as is and left running:
 * for fast edit-and-rerun loops (start it once with `npm run test:stack`).
 */
export default async function setup(): Promise<(() => Promise<void>) | void> {
  const config = testStackConfig();
  const log = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  if (process.env.TICKLAKE_TEST_REUSE_STACK === '1') {
    const statuses = await stackStatus({ config });
    const down = statuses.filter((s) => s.state !== 'healthy' && s.name !== 'prometheus');
    if (down.length === 0) {
      log('reusing the running test stack');
      return;
    }
    log(`TICKLAKE_TEST_REUSE_STACK=1 but not healthy: ${down.map((s) => `${s.name}=${s.state}`).join(', ')}; starting`);
    await stackUp({ config, progress: log });
    return;
  }
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
