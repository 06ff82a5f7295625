import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TickLakeError } from '../../core/errors.ts';

/** The one way the stack installs things: `go install` and Maven, each into a per-version cache folder. */

const HINTS: Record<string, string> = {
  go: 'install Go >= 1.25 (https://go.dev/doc/install) and put `go` on PATH',
  java: 'install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)',
  mvn: 'install Apache Maven (Debian: apt-get install maven)',
};

export function requireCommand(cmd: string, versionArgs: string[] = ['version']): string {
  const res = spawnSync(cmd, versionArgs, { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new TickLakeError('PREREQUISITE_MISSING', `\`${cmd}\` is not available: ${HINTS[cmd] ?? 'install it'}`, {
      cause: res.error,
    });
  }
  return `${res.stdout}${res.stderr}`.trim().split('\n')[0] ?? '';
}

export function goVersionOk(versionLine: string): boolean {
  const m = /go(\d+)\.(\d+)/.exec(versionLine);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 1 || (major === 1 && minor >= 25);
}

/** Runs a command, streaming nothing but a line count to `progress`, and keeps the tail for the error. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; progress?: (line: string) => void } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onData = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        opts.progress?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new TickLakeError('PROVISION_FAILED', `${cmd} ${args.join(' ')} exited with ${code}:\n${tail.join('\n')}`),
        );
    });
  });
}

/**
 * Builds a Go command at an exact version into <cache>/bin/<name>-<version>/.
 *
 * Not a bare `go install pkg@version`: that also asks the proxy for the module's version list (to report
 * deprecations), and some proxies refuse the list while serving the version itself. A throwaway wrapper module
 * that requires the exact version needs only the version. The binary is built into a temporary folder and
 * renamed, so an interrupted build never leaves a half-written binary that a later run would trust.
 */
export async function goInstall(
  cacheDir: string,
  name: string,
  pkg: string,
  version: string,
  progress: (line: string) => void,
): Promise<string> {
  const dir = join(cacheDir, 'bin', `${name}-${version}`);
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  const goLine = requireCommand('go');
  if (!goVersionOk(goLine)) {
    throw new TickLakeError('PREREQUISITE_MISSING', `${goLine} is too old: ${HINTS.go}`);
  }
  const tmp = `${dir}.partial`;
  const work = join(cacheDir, 'gobuild', `${name}-${version}`);
  rmSync(tmp, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'go.mod'), `module ticklake.local/build/${name}\n\ngo 1.25\n`);
  progress(`building ${pkg}@${version} with Go (first time only; takes minutes)`);
  let lines = 0;
  const env = { ...process.env, GOBIN: tmp, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' };
  const onLine = () => {
    if (++lines % 25 === 0) progress(`${name}: ${lines} modules fetched`);
  };
  await run('go', ['get', `${pkg}@${version}`], { env, cwd: work, progress: onLine });
  await run('go', ['install', pkg], { env, cwd: work, progress: onLine });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  rmSync(work, { recursive: true, force: true });
  return bin;
}

const KAFKA_POM = fileURLToPath(new URL('../kafka/pom.xml', import.meta.url));

/** Resolves the Kafka broker jars for `version` into <cache>/kafka-<version>/libs with Maven. */
export async function kafkaJars(cacheDir: string, version: string, progress: (line: string) => void): Promise<string> {
  const dir = join(cacheDir, `kafka-${version}`);
  const libs = join(dir, 'libs');
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${version}`))) return libs;
  requireCommand('java', ['-version']);
  requireCommand('mvn', ['-v']);
  const tmp = `${libs}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(KAFKA_POM, join(dir, 'pom.xml'));
  progress(`resolving Apache Kafka ${version} jars from Maven Central (first time only)`);
  await run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(dir, 'pom.xml'),
      `-Dkafka.version=${version}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    ],
    { progress },
  );
  rmSync(libs, { recursive: true, force: true });
  renameSync(tmp, libs);
  return libs;
}
