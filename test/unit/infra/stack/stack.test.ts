import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Config } from '../../../../core/config.ts';
import { loadConfig } from '../../../../infra/config.ts';
import { isTickLakeError } from '../../../../core/errors.ts';
import { tcpOpen } from '../../../../infra/stack/health.ts';
import { pidFileFor, readPidRecord, stopProcess } from '../../../../infra/stack/process.ts';
import type { StackService } from '../../../../infra/stack/service.ts';
import { stackDown, stackStatus, stackUp } from '../../../../infra/stack/stack.ts';

/** A real server process (node listening on a port) standing in for Kafka & co: the orchestration is under test. */
function echoService(name: string, port: number): StackService {
  return {
    name,
    optional: false,
    ports: () => [port],
    provision: async () => undefined,
    prepare: async () => ({
      command: process.execPath,
      // The health probe hangs up at once: ignore the resulting socket errors like a real server would.
      args: [
        '-e',
        `require('net').createServer(s => { s.on('error', () => {}); s.end('hi'); }).listen(${port}, '127.0.0.1')`,
      ],
    }),
    healthy: () => tcpOpen(port),
    urls: () => ({ [name]: `127.0.0.1:${port}` }),
  };
}

/** Running, as opposed to gone or a zombie awaiting its parent's reaping (which is not our business here). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * A port free right now, below Linux's ephemeral range (32768+): a port from listen(0) can be taken by another
 * test's outgoing connection before the service binds it, which failed this file under load.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const server = createServer();
    const ok = await new Promise<boolean>((r) => {
      server.once('error', () => r(false));
      server.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => server.close(() => r()));
      return port;
    }
  }
}

const configs: Config[] = [];
function tmpConfig(): Config {
  const config = loadConfig({
    env: {},
    overrides: { stack: { stateDir: mkdtempSync(join(tmpdir(), 'stack-')), startTimeoutMs: 10_000 } },
  });
  configs.push(config);
  return config;
}

const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  // A test that failed half-way must not leave its stand-in servers running: stop whatever has a pid file.
  for (const config of configs.splice(0)) {
    const run = join(config.stack.stateDir, 'run');
    const pidFiles = existsSync(run) ? readdirSync(run).filter((f) => f.endsWith('.pid')) : [];
    for (const f of pidFiles) await stopProcess(join(run, f), 2_000).catch(() => false);
  }
});

describe('stack orchestration with real processes', () => {
  it('starts, reports healthy, is idempotent, and stops leaving no process or port', async () => {
    const config = tmpConfig();
    const services = [echoService('a', await freePort()), echoService('b', await freePort())];
    const up = await stackUp({ config, services });
    expect(up.map((s) => [s.name, s.state])).toEqual([
      ['a', 'healthy'],
      ['b', 'healthy'],
    ]);
    const pids = services.map((s) => readPidRecord(pidFileFor(config.stack.stateDir, s.name))!.pid);

    const again = await stackUp({ config, services });
    expect(again.map((s) => s.pid)).toEqual(pids);

    expect((await stackDown({ config, services })).sort()).toEqual(['a', 'b']);
    for (const pid of pids) expect(running(pid)).toBe(false);
    // Nothing listens any more (a bind test could race with other tests taking ephemeral ports).
    for (const s of services) expect(await tcpOpen(s.ports(config)[0]!)).toBe(false);
    expect((await stackStatus({ config, services })).every((s) => s.state === 'stopped')).toBe(true);
  });

  it('refuses a port held by someone else, naming the port and the service', async () => {
    const config = tmpConfig();
    const port = await freePort();
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    let caught: unknown;
    try {
      await stackUp({ config, services: [echoService('busy', port)] });
    } catch (err) {
      caught = err;
    }
    expect(isTickLakeError(caught, 'PORT_IN_USE')).toBe(true);
    expect((caught as Error).message).toContain(`port ${port} (busy)`);
  });

  it('never signals a process it did not start, even if the pid file names it', async () => {
    const config = tmpConfig();
    const port = await freePort();
    const services = [echoService('x', port)];
    await stackUp({ config, services });
    const pidFile = pidFileFor(config.stack.stateDir, 'x');
    const ours = readPidRecord(pidFile)!;
    // Point the pid file at this test process, as if the pid had been reused: down must leave it alone.
    const forged = { ...ours, pid: process.pid, exe: '/nonexistent/other-binary' };
    writeFileSync(pidFile, JSON.stringify(forged));
    expect(await stackDown({ config, services })).toEqual([]);
    // Clean up the real one by restoring its record.
    writeFileSync(pidFile, JSON.stringify(ours));
    expect(await stackDown({ config, services })).toEqual(['x']);
    expect(running(ours.pid)).toBe(false);
  });

  it('fails with the log tail when a service exits before becoming healthy', async () => {
    const config = tmpConfig();
    const dying: StackService = {
      ...echoService('dies', await freePort()),
      prepare: async () => ({
        command: process.execPath,
        args: ['-e', 'console.error("boom: bad config"); process.exit(3)'],
      }),
    };
    await expect(stackUp({ config, services: [dying] })).rejects.toThrow(
      /dies did not become healthy[\s\S]*boom: bad config/,
    );
  });
});
