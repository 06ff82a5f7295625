import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * The shared part of the local fake vendor servers: a ws server on 127.0.0.1 (port 0), a record of what clients
 * sent and how they closed, and the failure modes a live feed has to survive:
 * - drop(): the server closes every connection (a deploy, a kicked slow client);
 * - kill(): the TCP connection dies without a close frame;
 * - freeze(): the server stops reading and writing but keeps the socket open — a half-open connection that
 *   only a heartbeat timeout can detect (pings go unanswered because they are never read).
 * Vendor fakes (one file each) add the protocol on top through onConnection/onMessage.
 */
export interface FakeConnection {
  readonly id: number;
  readonly ws: WebSocket;
  readonly url: URL;
  /** Vendor state for this connection (authenticated, subscriptions...). */
  readonly state: Record<string, unknown>;
  frozen: boolean;
  /** JSON-encodes objects; no-op when frozen or closed, as a stuck server would behave. */
  send(payload: unknown): void;
}

export interface ReceivedMessage {
  conn: number;
  /** Parsed JSON, or the raw text when it was not JSON. */
  msg: unknown;
}

export interface FakeServerHooks {
  path?: string;
  /** Reject the upgrade with this HTTP status (e.g. 401 for a bad token in the URL). */
  rejectUpgrade?: (url: URL, req: IncomingMessage) => number | undefined;
  onConnection?: (conn: FakeConnection) => void;
  onMessage?: (conn: FakeConnection, msg: unknown, raw: string) => void;
  onClose?: (conn: FakeConnection) => void;
}

export class FakeFeedServer {
  readonly received: ReceivedMessage[] = [];
  readonly closes: { conn: number; code: number }[] = [];
  /** WebSocket ping frames received from clients: proof the client's timers ran, without reading a clock. */
  pings = 0;
  readonly connections = new Set<FakeConnection>();
  totalConnections = 0;
  private nextId = 1;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
    private readonly upgrades: { count: number },
  ) {}

  /** Upgrade requests seen, including rejected ones. */
  get upgradeAttempts(): number {
    return this.upgrades.count;
  }

  static async start(hooks: FakeServerHooks): Promise<FakeFeedServer> {
    const upgrades = { count: 0 };
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (info, done) => {
        upgrades.count += 1;
        const url = new URL(info.req.url ?? '/', 'ws://127.0.0.1');
        const status = hooks.rejectUpgrade?.(url, info.req);
        if (status) done(false, status, status === 401 ? 'Unauthorized' : 'Rejected');
        else done(true);
      },
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const address = wss.address();
    if (address === null || typeof address === 'string') throw new Error('fake server: no TCP address');
    const created = new FakeFeedServer(wss, `ws://127.0.0.1:${address.port}${hooks.path ?? '/'}`, upgrades);
    wss.on('connection', (ws, req) => created.accept(ws, req, hooks));
    return created;
  }

  private accept(ws: WebSocket, req: IncomingMessage, hooks: FakeServerHooks): void {
    const conn: FakeConnection = {
      id: this.nextId++,
      ws,
      url: new URL(req.url ?? '/', 'ws://127.0.0.1'),
      state: {},
      frozen: false,
      send(payload) {
        if (conn.frozen || ws.readyState !== WebSocket.OPEN) return;
        ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
      },
    };
    this.totalConnections += 1;
    this.connections.add(conn);
    ws.on('ping', () => this.pings++);
    ws.on('message', (data) => {
      const raw = data.toString();
      let msg: unknown = raw;
      try {
        msg = JSON.parse(raw);
      } catch {
        // kept as text: the vendor fake decides how to answer garbage
      }
      this.received.push({ conn: conn.id, msg });
      hooks.onMessage?.(conn, msg, raw);
    });
    ws.on('close', (code) => {
      this.closes.push({ conn: conn.id, code });
      this.connections.delete(conn);
      hooks.onClose?.(conn);
    });
    ws.on('error', () => undefined);
    hooks.onConnection?.(conn);
  }

  /** Messages every client sent, in order, optionally only those matching a predicate. */
  sent(filter?: (msg: unknown) => boolean): unknown[] {
    return this.received.map((r) => r.msg).filter((m) => !filter || filter(m));
  }

  broadcast(payload: unknown): void {
    for (const c of this.connections) c.send(payload);
  }

  drop(code = 1001, reason = 'going away'): void {
    for (const c of this.connections) c.ws.close(code, reason);
  }

  kill(): void {
    for (const c of this.connections) c.ws.terminate();
  }

  freeze(): void {
    for (const c of this.connections) {
      c.frozen = true;
      c.ws.pause();
    }
  }

  /** Resolves when `check` holds, polling every 5 ms; rejects after `timeoutMs` naming `what`. */
  async waitFor(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`fake server: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** A repeating timer that stops by itself when the connection closes (app-level pings and heartbeats). */
export function everyWhileOpen(conn: FakeConnection, ms: number, fn: () => void): void {
  const timer = setInterval(() => {
    if (conn.ws.readyState !== WebSocket.OPEN) return clearInterval(timer);
    fn();
  }, ms);
  conn.ws.once('close', () => clearInterval(timer));
}

/** A one-shot timer cancelled if the connection closes first (auth and subscribe deadlines). */
export function afterUnlessClosed(conn: FakeConnection, ms: number, fn: () => void): void {
  const timer = setTimeout(fn, ms);
  conn.ws.once('close', () => clearTimeout(timer));
}
