import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub } from '../../../dashboard/sse.ts';

/** The fan-out on a real loopback HTTP server: every client gets each event's bytes; one that stops reading is cut. */
let server: Server | undefined;
let hub: SseHub | undefined;
afterEach(async () => {
  hub?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

async function start(maxBuffered: number): Promise<number> {
  hub = new SseHub(maxBuffered, 60_000);
  server = createServer((_req, res) => hub!.add(res, SseHub.frame('hello', { n: 0 })));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

const open = (port: number) =>
  new Promise<IncomingMessage>((resolve) => get({ host: '127.0.0.1', port, path: '/' }, resolve));

describe('SseHub', () => {
  it('writes each event once to every client, as SSE frames', async () => {
    const port = await start(1 << 20);
    const clients = await Promise.all([open(port), open(port), open(port)]);
    const texts = clients.map(() => '');
    clients.forEach((c, i) => c.on('data', (d: Buffer) => (texts[i] += d.toString())));
    while (hub!.size < 3) await new Promise((r) => setTimeout(r, 10));
    expect(clients[0]!.headers['content-type']).toMatch(/^text\/event-stream/);
    hub!.broadcast('bar', { symbol: 'AAPL', close: 1.5 });
    await new Promise((r) => setTimeout(r, 100));
    for (const t of texts) {
      expect(t).toBe(
        'retry: 2000\n\nevent: hello\ndata: {"n":0}\n\nevent: bar\ndata: {"symbol":"AAPL","close":1.5}\n\n',
      );
    }
    clients[1]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(hub!.size).toBe(2);
  });

  it('drops a client that stops reading once its buffer passes the bound, and keeps serving the others', async () => {
    const port = await start(64 * 1024);
    const reader = await open(port);
    let got = 0;
    reader.on('data', (d: Buffer) => (got += d.length));
    const stalled = await open(port);
    stalled.pause();
    while (hub!.size < 2) await new Promise((r) => setTimeout(r, 10));
    const payload = { blob: 'x'.repeat(16 * 1024) };
    for (let i = 0; i < 400 && hub!.dropped === 0; i++) {
      hub!.broadcast('bar', payload);
      await new Promise((r) => setImmediate(r));
    }
    expect(hub!.dropped).toBe(1);
    expect(hub!.size).toBe(1);
    hub!.broadcast('bar', { after: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toBeGreaterThan(64 * 1024);
  });
});
