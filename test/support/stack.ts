import { type Config } from '../../core/config.ts';
import { loadConfig } from '../../infra/config.ts';
import { testStackProfile } from '../../infra/stack/profile.ts';

/** The config every integration test uses: the test stack's ports and state dir. */
export function testStackConfig(): Config {
  return loadConfig({ profile: testStackProfile() });
}
