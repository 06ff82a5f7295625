/**
 * Where bench/kafka-clients/build-confluent.sh puts @confluentinc/kafka-javascript, built from source (it is in no
 * package.json that npm installs: its install script needs GitHub, see the script), and whether it is there. The
 * folder naming must match the script's: the version pinned in confluent/package.json and the Node ABI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';

/** The version the build script installs (confluent/package.json pins it exactly). */
export function confluentVersion(): string {
  const spec = fileURLToPath(new URL('./confluent/package.json', import.meta.url));
  const json = JSON.parse(readFileSync(spec, 'utf8')) as { dependencies: Record<string, string> };
  return json.dependencies[CONFLUENT_PACKAGE]!;
}

/** `<cache>/confluent-kafka-javascript/<version>-node-v<abi>-<os>-<arch>`, holding node_modules/. */
export function confluentInstallDir(): string {
  const cache =
    process.env.TICKLAKE_STACK_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ticklake');
  const key = `node-v${process.versions.modules}-${process.platform}-${process.arch}`;
  return join(cache, 'confluent-kafka-javascript', `${confluentVersion()}-${key}`);
}

/** Why the built package cannot be used by this Node, or undefined when it is built. */
export function confluentUnavailable(): string | undefined {
  if (existsSync(join(confluentInstallDir(), '.built'))) return undefined;
  return (
    `${CONFLUENT_PACKAGE} ${confluentVersion()} is not built for Node ${process.versions.node} ` +
    '(bash bench/kafka-clients/build-confluent.sh builds it from source, ~3 min)'
  );
}
