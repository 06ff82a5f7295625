import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Health, serverAnswered, watchedStorage } from '../../../infra/health.ts';
import { startMetricsServer } from '../../../infra/metrics-server.ts';
import { FsStorage } from '../../../lake/storage/fs.ts';
import { partitionLag } from '../../../streaming/kafka/consumer-lag.ts';
import { freePort } from '../../support/servers.ts';

let now = Date.parse('2026-12-01T10:00:00Z');
const clock = () => now;
const open: Array<{ close(): unknown }> = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

describe('Health', () => {
  it('fails `started` until the process says it consumes, and `stopping` once asked to stop', () => {
    const h = new Health({ role: 'sink', unreachableAfterMs: 30_000, now: clock });
    let r = h.report();
    expect(r.status).toBe('unavailable');
    expect(r.checks.find((c) => c.name === 'started')).toMatchObject({ ok: false, since: '2026-12-01T10:00:00.000Z' });
    now += 2_000;
    h.markStarted();
    r = h.report();
    expect(r).toMatchObject({ status: 'ok', role: 'sink' });
    expect(r.checks.find((c) => c.name === 'started')).toEqual({
      name: 'started',
      ok: true,
      since: '2026-12-01T10:00:02.000Z',
    });
    h.markStopping();
    expect(h.stopping).toBe(true);
    expect(
      h
        .report()
        .checks.filter((c) => !c.ok)
        .map((c) => c.name),
    ).toEqual(['stopping']);
  });

  it('fails a dependency only once it has been failing longer than the bound, naming since when and why', () => {
    const h = new Health({ role: 'process', unreachableAfterMs: 30_000, now: clock });
    h.markStarted();
    const kafka = h.dependency('kafka');
    expect(h.dependency('kafka')).toBe(kafka); // one per name
    kafka.ok();
    const failedAt = now;
    kafka.failed(new Error('connect ECONNREFUSED 127.0.0.1:9092'));
    now += 10_000;
    kafka.failed(new Error('connect ECONNREFUSED 127.0.0.1:9092'));
    let c = h.report().checks.find((x) => x.name === 'kafka')!;
    expect(h.report().status).toBe('ok');
    expect(c).toMatchObject({ ok: true, since: new Date(failedAt).toISOString() });
    expect(c.detail).toMatch(/^failing for 10\.0s/);
    now += 20_001;
    c = h.report().checks.find((x) => x.name === 'kafka')!;
    expect(h.report().status).toBe('unavailable');
    expect(c).toEqual({
      name: 'kafka',
      ok: false,
      since: new Date(failedAt).toISOString(),
      detail: 'unreachable for 30.0s (bound 30.0s, health.unreachableAfterMs): connect ECONNREFUSED 127.0.0.1:9092',
    });
    // One success ends the outage.
    now += 1_000;
    kafka.ok();
    expect(h.report().checks.find((x) => x.name === 'kafka')).toEqual({
      name: 'kafka',
      ok: true,
      since: new Date(now).toISOString(),
    });
  });

  it("adds the process's own checks", () => {
    const h = new Health({ role: 'worker', unreachableAfterMs: 1000, now: clock });
    let state = 'RUNNING';
    h.addCheck('worker', () => (state === 'RUNNING' ? undefined : `worker is ${state}`));
    h.markStarted();
    expect(h.report().status).toBe('ok');
    state = 'FAILED';
    expect(h.report().checks.find((c) => c.name === 'worker')).toMatchObject({ ok: false, detail: 'worker is FAILED' });
  });

  it('exports ticklake_ready and ticklake_health_check_ok as /readyz would answer', async () => {
    const registry = new Registry();
    const h = new Health({ role: 'sink', unreachableAfterMs: 1000, now: clock });
    h.register(registry);
    h.markStarted();
    const s3 = h.dependency('s3');
    s3.failed(new Error('down'));
    now += 5_000;
    const text = await registry.metrics();
    expect(text).toMatch(/^ticklake_ready 0$/m);
    expect(text).toMatch(/^ticklake_health_check_ok\{check="s3"\} 0$/m);
    expect(text).toMatch(/^ticklake_health_check_ok\{check="started"\} 1$/m);
    s3.ok();
    expect(await registry.metrics()).toMatch(/^ticklake_ready 1$/m);
  });
});

describe('the metrics server', () => {
  it('answers /healthz and /readyz with the JSON report (503 when a check fails) and /livez until stopping', async () => {
    const h = new Health({ role: 'ingest', unreachableAfterMs: 1000, now: clock });
    const port = await freePort();
    open.push(await startMetricsServer(new Registry(), port, h));
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as unknown };
    };
    let r = await get('/healthz');
    expect(r).toMatchObject({ status: 503, type: 'application/json', body: { status: 'unavailable', role: 'ingest' } });
    h.markStarted();
    for (const path of ['/healthz', '/readyz', '/readyz?verbose=1']) {
      expect((await get(path)).status, path).toBe(200);
    }
    h.dependency('kafka').failed(new Error('broker gone'));
    now += 1_500;
    r = await get('/readyz');
    expect(r.status).toBe(503);
    expect((r.body as { checks: { name: string; ok: boolean }[] }).checks.filter((c) => !c.ok)).toMatchObject([
      { name: 'kafka', ok: false },
    ]);
    expect((await get('/livez')).status).toBe(200);
    h.markStopping();
    expect(await get('/livez')).toMatchObject({ status: 503, body: { status: 'stopping' } });
  });
});

describe('watchedStorage', () => {
  it('reports success, and failures only when the server did not answer (refused, 5xx)', async () => {
    const calls: string[] = [];
    const dep = { ok: () => calls.push('ok'), failed: (e: unknown) => calls.push(`failed: ${(e as Error).message}`) };
    const dir = mkdtempSync(join(tmpdir(), 'ticklake-watched-'));
    open.push({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const base = new FsStorage(dir);
    const storage = watchedStorage(base, dep);
    await storage.put('a/b', 'x');
    expect(await storage.get('a/b')).toEqual(new TextEncoder().encode('x'));
    expect(storage.description).toBe(base.description);
    expect(calls).toEqual(['ok', 'ok']);
    await expect(storage.getRange('a/b', 5, 1)).rejects.toThrow(/invalid byte range/);
    expect(calls[2]).toMatch(/^failed: invalid byte range/);
  });

  it('tells an HTTP answer below 500 from no answer', () => {
    const answered = Object.assign(new Error('PreconditionFailed'), { $metadata: { httpStatusCode: 412 } });
    const unavailable = Object.assign(new Error('ServiceUnavailable'), { $metadata: { httpStatusCode: 503 } });
    expect(serverAnswered(new Error('wrapped', { cause: answered }))).toBe(true);
    expect(serverAnswered(unavailable)).toBe(false);
    expect(serverAnswered(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
  });
});

describe('partitionLag', () => {
  it('is the high watermark minus the committed offset, or minus the log start when nothing is committed', () => {
    expect(partitionLag('1000', '0', '990')).toBe(10);
    expect(partitionLag('1000', '200', undefined)).toBe(800);
    expect(partitionLag('1000', '200', '-1')).toBe(800);
    expect(partitionLag('1000', '0', '1000')).toBe(0);
    // A committed offset the broker's answer has not caught up with yet: not negative.
    expect(partitionLag('1000', '0', '1002')).toBe(0);
  });
});
