import type { ServerResponse } from 'node:http';

/**
 * Server-sent events to every open dashboard. An event is serialised once and the same bytes are written to each
 * client; a client whose socket stops draining (a phone gone to sleep, a dead link) is dropped once it has
 * `maxBufferedBytes` unsent, instead of growing the server's memory. EventSource reconnects by itself and the page
 * then reloads its snapshot, so nothing needs replaying here.
 */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;
  dropped = 0;

  constructor(
    private readonly maxBufferedBytes = 4 * 1024 * 1024,
    keepAliveMs = 15_000,
    private readonly onChange?: (clients: number) => void,
  ) {
    // A comment line now and then keeps proxies from closing an idle stream.
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), keepAliveMs);
    this.keepAlive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse, first: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n\n${first}`);
    this.clients.add(res);
    this.onChange?.(this.clients.size);
    res.on('close', () => {
      this.clients.delete(res);
      this.onChange?.(this.clients.size);
    });
  }

  static frame(event: string, data: unknown): string {
    return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size) this.write(SseHub.frame(event, data));
  }

  private write(bytes: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.maxBufferedBytes) {
        this.dropped++;
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(bytes);
    }
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
