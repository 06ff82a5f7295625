import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TickLakeError } from '../../core/errors.ts';
import { run } from '../../infra/stack/toolchain.ts';
import { testStackConfig } from './stack.ts';

/**
 * A Python with pyarrow for the tests that prove lake files read outside our own code. Pinned, and kept in a
 * venv under the stack's cache dir (`stack.cacheDir`: $XDG_CACHE_HOME/ticklake, else ~/.cache/ticklake), one
 * folder per version, so it is built once per machine and a version bump builds a new one beside it.
 *
 * The venv is built in a private sibling folder and renamed into place: a build that dies half-way never
 * leaves a folder a later run would trust, and of two processes building at once one rename wins and the
 * other uses the winner's venv. A venv moved after creation keeps working when run as `<venv>/bin/python`
 * (Python finds its prefix from pyvenv.cfg next to the executable); its pip scripts are never used.
 */
export const PYARROW_VERSION = '26.0.1';

const HINT =
  'install Python 3 with its venv module and put `python3` on PATH (Debian/Ubuntu: apt-get install python3 python3-venv)';

export function pyarrowVenvDir(cacheDir: string = testStackConfig().stack.cacheDir): string {
  return join(cacheDir, 'python', `pyarrow-${PYARROW_VERSION}`);
}

function venvPython(dir: string): string {
  return process.platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python');
}

/** True when `python` imports exactly the pinned pyarrow. */
function hasPinnedPyarrow(python: string): boolean {
  const res = spawnSync(python, ['-c', 'import pyarrow; print(pyarrow.__version__)'], { encoding: 'utf8' });
  return res.status === 0 && res.stdout.trim() === PYARROW_VERSION;
}

function requirePython3(): void {
  const res = spawnSync('python3', ['-c', 'import venv, ensurepip'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    const why = res.error ? '`python3` is not on PATH' : `python3 has no venv/ensurepip (${res.stderr.trim()})`;
    throw new TickLakeError('PREREQUISITE_MISSING', `${why}: ${HINT}`, { cause: res.error });
  }
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes(String((err as { code?: unknown }).code));
}

async function build(dir: string, progress: (line: string) => void): Promise<void> {
  requirePython3();
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    progress(`creating a Python venv with pyarrow==${PYARROW_VERSION} in ${dir} (first time only)`);
    await run('python3', ['-m', 'venv', tmp]);
    await run(venvPython(tmp), [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '-q',
      `pyarrow==${PYARROW_VERSION}`,
    ]);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process renamed its venv into place first: use that one.
      if (!isCode(err, 'ENOTEMPTY', 'EEXIST', 'EPERM')) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

let cached: Promise<string> | null = null;

/**
 * The path of a Python executable that imports pyarrow==26.0.1, creating the cached venv on first use
 * (`python3 -m venv` + pip from PyPI: ~7 s on a fast network, 195 MB). A cached venv that no longer
 * works (its base Python was removed) is replaced. Throws PREREQUISITE_MISSING when python3 is missing.
 */
export function ensurePyarrow(
  progress: (line: string) => void = (l) => process.stderr.write(`[pyarrow] ${l}\n`),
): Promise<string> {
  cached ??= (async () => {
    const dir = pyarrowVenvDir();
    const python = venvPython(dir);
    if (hasPinnedPyarrow(python)) return python;
    // Checked again: another process may have just renamed its fresh venv into place.
    if (existsSync(dir) && !hasPinnedPyarrow(python)) {
      const stale = `${dir}.stale-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(dir, stale);
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err; // another process moved it first
      }
      rmSync(stale, { recursive: true, force: true });
    }
    if (!existsSync(dir)) await build(dir, progress);
    if (!hasPinnedPyarrow(python)) {
      throw new TickLakeError('PROVISION_FAILED', `${python} does not import pyarrow ${PYARROW_VERSION} after install`);
    }
    return python;
  })();
  cached.catch(() => (cached = null));
  return cached;
}

/** Runs `code` with `python`, `args` as sys.argv[1:], and parses what it prints as JSON. */
export function runPythonJson<T>(python: string, code: string, args: readonly string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', code, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`python failed (${err.message.split('\n')[0]}):\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as T);
      } catch (parseErr) {
        reject(new Error(`python printed no JSON: ${String(parseErr)}\n${stdout.slice(0, 2000)}\n${stderr}`));
      }
    });
  });
}
