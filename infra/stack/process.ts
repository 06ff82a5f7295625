import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Background processes owned by the stack. Each is recorded in a pid file holding the pid and the
 * executable it was started from, so `stack down` signals only what it started and never a process
 * that merely reused the pid (or shares a name).
 */
export interface PidRecord {
  pid: number;
  exe: string;
  argv: string[];
  startedAt: string;
}

export interface ManagedProcessSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  pidFile: string;
}

export function readPidRecord(pidFile: string): PidRecord | undefined {
  if (!existsSync(pidFile)) return undefined;
  try {
    return JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/** True when the pid is alive and still runs the executable recorded at start. */
export async function isOurs(rec: PidRecord): Promise<boolean> {
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    const exe = await readlink(`/proc/${rec.pid}/exe`);
    return exe.replace(/ \(deleted\)$/, '') === rec.exe;
  } catch {
    // No /proc (not Linux): fall back to the liveness check alone.
    return process.platform !== 'linux';
  }
}

export async function startProcess(spec: ManagedProcessSpec): Promise<PidRecord> {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw err;
  }
  child.unref();
  let exe = spec.command;
  // Record the resolved executable: for `java` the pid's exe is the JVM binary, not the PATH shim.
  for (let i = 0; i < 20; i++) {
    try {
      exe = (await readlink(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, '');
      break;
    } catch {
      await sleep(10);
    }
  }
  const rec: PidRecord = { pid, exe, argv: [spec.command, ...spec.args], startedAt: new Date().toISOString() };
  writeFileSync(spec.pidFile, JSON.stringify(rec));
  return rec;
}

/** SIGTERM, then SIGKILL after a grace period. Removes the pid file. Returns false if nothing of ours ran. */
export async function stopProcess(pidFile: string, graceMs = 15_000): Promise<boolean> {
  const rec = readPidRecord(pidFile);
  if (!rec) return false;
  if (!(await isOurs(rec))) {
    rmSync(pidFile, { force: true });
    return false;
  }
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      // Detached children lead their own process group: signal the group so helpers die too.
      process.kill(-rec.pid, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (await isOurs(rec))) await sleep(100);
  if (await isOurs(rec)) {
    signalGroup('SIGKILL');
    while (await isOurs(rec)) await sleep(50);
  }
  rmSync(pidFile, { force: true });
  return true;
}

export function tailFile(file: string, lines: number): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8');
  return text
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
}

export function pidFileFor(stateDir: string, name: string): string {
  return join(stateDir, 'run', `${name}.pid`);
}

export function logFileFor(stateDir: string, name: string): string {
  return join(stateDir, 'logs', `${name}.log`);
}
