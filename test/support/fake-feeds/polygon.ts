import { FakeFeedServer, type FakeConnection } from './server.ts';

/**
 * A local Polygon.io stocks socket (https://polygon.io/docs/stocks/ws_getting-started; massive.com/docs/websocket/
 * stocks/trades and /quotes). Every frame is a JSON array:
 * - on connect [{"ev":"status","status":"connected","message":"Connected Successfully"}];
 * - {"action":"auth","params":key} -> status auth_success "authenticated" | auth_failed "authentication failed"
 *   (then the server closes);
 * - {"action":"subscribe"|"unsubscribe","params":"T.AAPL,Q.AAPL"} -> one status "success" per channel,
 *   "subscribed to: T.AAPL" / "unsubscribed to: T.AAPL";
 * - before auth, or an unknown action: a status "error" (the exact wording is undocumented: assumed here);
 * - maxConnections(): status "max_connections" then a close, as the real cluster announces an eviction.
 * Liveness is WebSocket ping/pong (answered by the ws library).
 */
export interface PolygonTrade {
  ev: 'T';
  sym: string;
  x: number;
  i: string;
  z: number;
  p: number;
  s: number;
  c?: number[];
  t: number;
  q?: number;
}

export interface PolygonQuote {
  ev: 'Q';
  sym: string;
  bx: number;
  bp: number;
  bs: number;
  ax: number;
  ap: number;
  as: number;
  c?: number;
  i?: number[];
  t: number;
  q?: number;
  z: number;
}

const status = (s: string, message: string) => ({ ev: 'status', status: s, message });

export async function startFakePolygon(opts: { apiKey: string }) {
  const subs = (c: FakeConnection) => (c.state.subs ??= new Set<string>()) as Set<string>;
  const server = await FakeFeedServer.start({
    path: '/stocks',
    onConnection: (conn) => conn.send([status('connected', 'Connected Successfully')]),
    onMessage: (conn, msg) => {
      const m = msg as { action?: unknown; params?: unknown };
      if (typeof m !== 'object' || m === null || typeof m.params !== 'string') {
        return conn.send([status('error', 'invalid message')]);
      }
      if (m.action === 'auth') {
        if (m.params !== opts.apiKey) {
          conn.send([status('auth_failed', 'authentication failed')]);
          return conn.ws.close(1008, 'authentication failed');
        }
        conn.state.authed = true;
        return conn.send([status('auth_success', 'authenticated')]);
      }
      if (!conn.state.authed) return conn.send([status('error', 'not authorized')]);
      const params = m.params.split(',').map((p) => p.trim());
      if (m.action === 'subscribe') {
        params.forEach((p) => subs(conn).add(p));
        return conn.send(params.map((p) => status('success', `subscribed to: ${p}`)));
      }
      if (m.action === 'unsubscribe') {
        params.forEach((p) => subs(conn).delete(p));
        return conn.send(params.map((p) => status('success', `unsubscribed to: ${p}`)));
      }
      conn.send([status('error', 'unknown action')]);
    },
  });

  return {
    server,
    url: server.url,
    subscriptions(): string[] {
      const conn = [...server.connections].at(-1);
      return conn ? [...subs(conn)].sort() : [];
    },
    /** Events go in one frame per connection to those subscribed to `<ev>.<sym>`. */
    publish(events: (PolygonTrade | PolygonQuote)[]): void {
      for (const conn of server.connections) {
        const data = events.filter((e) => subs(conn).has(`${e.ev}.${e.sym}`));
        if (data.length > 0) conn.send(data);
      }
    },
    maxConnections(): void {
      for (const conn of server.connections) {
        conn.send([
          status(
            'max_connections',
            'Maximum number of websocket connections exceeded. You have been disconnected from the server.',
          ),
        ]);
        conn.ws.close(1008, 'max connections');
      }
    },
  };
}
