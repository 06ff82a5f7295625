import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { goInstall } from '../toolchain.ts';
import type { StackService } from '../service.ts';
import { httpOk } from '../health.ts';

const PKG = 'github.com/goccy/bigquery-emulator/cmd/bigquery-emulator';

export const bigqueryService: StackService = {
  name: 'bigquery',
  optional: false,
  ports: (c) => [c.stack.bigqueryPort, c.stack.bigqueryGrpcPort],
  async provision(ctx) {
    await goInstall(
      ctx.config.stack.cacheDir,
      'bigquery-emulator',
      PKG,
      ctx.config.stack.bigqueryEmulatorVersion,
      ctx.progress,
    );
    return undefined;
  },
  async prepare(ctx) {
    const s = ctx.config.stack;
    const bin = await goInstall(s.cacheDir, 'bigquery-emulator', PKG, s.bigqueryEmulatorVersion, ctx.progress);
    const home = join(s.stateDir, 'bigquery');
    mkdirSync(home, { recursive: true });
    return {
      command: bin,
      args: [
        `--project=${ctx.config.bigquery.projectId}`,
        '--host=127.0.0.1',
        `--port=${s.bigqueryPort}`,
        `--grpc-port=${s.bigqueryGrpcPort}`,
        `--database=${join(home, 'bigquery.db')}`,
        '--log-level=warn',
        '--log-format=json',
      ],
      cwd: home,
    };
  },
  // The REST API answering a dataset listing for our project is the readiness signal.
  healthy: (c) =>
    httpOk(`http://127.0.0.1:${c.stack.bigqueryPort}/bigquery/v2/projects/${c.bigquery.projectId}/datasets`),
  urls: (c) => ({ bigquery: `http://127.0.0.1:${c.stack.bigqueryPort}` }),
};
