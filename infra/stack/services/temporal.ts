import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { goInstall } from '../toolchain.ts';
import type { StackService } from '../service.ts';
import { httpOk } from '../health.ts';
import { searchAttributeFlags } from '../../../workflows/constants.ts';

const MODULE = 'github.com/temporalio/cli/cmd/temporal';

export const temporalService: StackService = {
  name: 'temporal',
  optional: false,
  ports: (c) => [c.stack.temporalPort, c.stack.temporalUiPort, c.stack.temporalHttpPort, c.stack.temporalMetricsPort],
  async provision(ctx) {
    await goInstall(ctx.config.stack.cacheDir, 'temporal', MODULE, ctx.config.stack.temporalCliVersion, ctx.progress);
    return undefined;
  },
  async prepare(ctx) {
    const s = ctx.config.stack;
    const bin = await goInstall(s.cacheDir, 'temporal', MODULE, s.temporalCliVersion, ctx.progress);
    const home = join(s.stateDir, 'temporal');
    mkdirSync(home, { recursive: true });
    return {
      command: bin,
      args: [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(s.temporalPort),
        '--ui-port',
        String(s.temporalUiPort),
        '--http-port',
        String(s.temporalHttpPort),
        '--metrics-port',
        String(s.temporalMetricsPort),
        '--db-filename',
        join(home, 'temporal.db'),
        '--namespace',
        ctx.config.temporal.namespace,
        '--log-level',
        'warn',
        '--log-format',
        'json',
        // Registered at start (the dev server keeps them in its SQLite file; re-registering is a no-op), so the
        // UI can filter runs by table, partition, date and outcome from the first run on.
        ...searchAttributeFlags().flatMap((f) => ['--search-attribute', f]),
      ],
      cwd: home,
    };
  },
  async healthy(config) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({
        address: `127.0.0.1:${config.stack.temporalPort}`,
        connectTimeout: 1000,
      });
      // Frontend answers only once persistence and the namespace registry are up.
      await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
      return await httpOk(`http://127.0.0.1:${config.stack.temporalUiPort}/`);
    } catch {
      return false;
    } finally {
      await connection?.close().catch(() => {});
    }
  },
  urls: (c) => ({
    temporal: `127.0.0.1:${c.stack.temporalPort}`,
    'temporal-ui': `http://127.0.0.1:${c.stack.temporalUiPort}`,
  }),
};
