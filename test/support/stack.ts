import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../core/config.ts';
import { shiftedStackProfile } from '../../infra/stack/profile.ts';

export const TEST_PORT_OFFSET = 10_000;

/** The integration suite's stack: ports shifted by 10000, its own state dir, shared cache. */
export function testStackConfig(): Config {
  const stateDir =
    process.env.TICKLAKE_TEST_STATE_DIR ||
    join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'ticklake-test');
  return loadConfig({ overrides: shiftedStackProfile(TEST_PORT_OFFSET, stateDir) });
}
