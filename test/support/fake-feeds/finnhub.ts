import { everyWhileOpen, FakeFeedServer, type FakeConnection } from './server.ts';

/**
 * A local Finnhub trades socket (https://finnhub.io/docs/api/websocket-trades):
 * - the token is the `token` query parameter; a wrong one gets HTTP 401 on the upgrade (as finnhubio/Finnhub-API#465
 *   shows the real server doing);
 * - {"type":"subscribe"|"unsubscribe","symbol":..} with no ack; an unknown symbol gets
 *   {"type":"error","msg":"Invalid symbol X"} (the wording of finnhubio/Finnhub-API#20);
 * - {"type":"ping"} every pingIntervalMs;
 * - trades {"type":"trade","data":[{"s","p","v","t" (unix ms),"c":[..]}]} to the connections subscribed to them.
 */
export interface FinnhubTrade {
  s: string;
  p: number;
  v: number;
  t: number;
  c?: string[];
}

export interface FakeFinnhubOptions {
  token: string;
  pingIntervalMs?: number;
  /** Symbols the fake refuses as invalid. */
  invalidSymbols?: string[];
}

function subs(conn: FakeConnection): Set<string> {
  return (conn.state.subs ??= new Set<string>()) as Set<string>;
}

export async function startFakeFinnhub(opts: FakeFinnhubOptions) {
  const invalid = new Set(opts.invalidSymbols ?? []);
  const server = await FakeFeedServer.start({
    rejectUpgrade: (url) => (url.searchParams.get('token') === opts.token ? undefined : 401),
    onConnection: (conn) => everyWhileOpen(conn, opts.pingIntervalMs ?? 1_000, () => conn.send({ type: 'ping' })),
    onMessage: (conn, msg) => {
      const m = msg as { type?: unknown; symbol?: unknown };
      if (typeof m !== 'object' || m === null || typeof m.symbol !== 'string') {
        return conn.send({ type: 'error', msg: 'Invalid message' });
      }
      if (m.type === 'subscribe') {
        if (invalid.has(m.symbol)) return conn.send({ type: 'error', msg: `Invalid symbol ${m.symbol}` });
        subs(conn).add(m.symbol);
      } else if (m.type === 'unsubscribe') {
        subs(conn).delete(m.symbol);
      }
    },
  });

  return {
    server,
    url: server.url,
    /** Symbols a connection (the latest by default) is subscribed to. */
    subscriptions(connId?: number): string[] {
      const conns = [...server.connections];
      const conn = connId === undefined ? conns.at(-1) : conns.find((c) => c.id === connId);
      return conn ? [...subs(conn)].sort() : [];
    },
    /** One trade frame per connection, holding the trades of the symbols it subscribed to. */
    trades(trades: FinnhubTrade[]): void {
      for (const conn of server.connections) {
        const data = trades.filter((t) => subs(conn).has(t.s));
        if (data.length > 0) conn.send({ data, type: 'trade' });
      }
    },
  };
}
