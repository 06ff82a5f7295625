import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { searchAttributeFlags } from '../../workflows/constants.ts';
import { testStackConfig } from './stack.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** The Temporal CLI the local stack provisioned (`ticklake stack provision`). */
export function temporalBinary(): string {
  const s = testStackConfig().stack;
  return join(s.cacheDir, 'bin', `temporal-${s.temporalCliVersion}`, 'temporal');
}

let runtimeInstalled = false;

/**
 * A Temporal dev server of its own for one test file, from the binary the local stack provisioned (nothing is
 * downloaded), on loopback, with ticklake's search attributes registered as the stack registers them.
 */
export async function localTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // another file in this worker installed it already
    }
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary() },
      ip: '127.0.0.1',
      extraArgs: searchAttributeFlags().flatMap((f) => ['--search-attribute', f]),
    },
  });
}
