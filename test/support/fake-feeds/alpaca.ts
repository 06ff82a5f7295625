import { afterUnlessClosed, FakeFeedServer, type FakeConnection } from './server.ts';

/**
 * A local Alpaca Market Data v2 stock stream (https://docs.alpaca.markets/docs/streaming-market-data and
 * .../real-time-stock-pricing-data). Every frame is a JSON array; control messages come one per array:
 * - on connect [{"T":"success","msg":"connected"}]; no auth within authTimeoutMs -> 404 "auth timeout" and close;
 * - {"action":"auth","key","secret"} -> [{"T":"success","msg":"authenticated"}] | 402 "auth failed" |
 *   403 "already authenticated" | 406 "connection limit exceeded" (more authenticated connections than allowed);
 * - {"action":"subscribe"|"unsubscribe","trades":[..],"quotes":[..]} before auth -> 401 "not authenticated";
 *   otherwise the whole current subscription: [{"T":"subscription","trades","quotes","bars",...}];
 * - anything unreadable -> 400 "invalid syntax";
 * - liveness is WebSocket ping/pong (answered by the ws library).
 */
export interface AlpacaTrade {
  T: 't';
  S: string;
  i: number;
  x: string;
  p: number;
  s: number;
  t: string;
  c: string[];
  z: string;
}

export interface AlpacaQuote {
  T: 'q';
  S: string;
  bx: string;
  bp: number;
  bs: number;
  ax: string;
  ap: number;
  as: number;
  t: string;
  c: string[];
  z: string;
}

export interface FakeAlpacaOptions {
  key: string;
  secret: string;
  authTimeoutMs?: number;
  connectionLimit?: number;
  /** false: never send the "connected" welcome, a handshake that stalls. */
  welcome?: boolean;
}

interface AlpacaState {
  authed?: boolean;
  trades?: Set<string>;
  quotes?: Set<string>;
}

const error = (code: number, msg: string) => [{ T: 'error', code, msg }];

export async function startFakeAlpaca(opts: FakeAlpacaOptions) {
  const st = (c: FakeConnection) => c.state as AlpacaState;
  const subscription = (c: FakeConnection) => [
    {
      T: 'subscription',
      trades: [...(st(c).trades ?? [])],
      quotes: [...(st(c).quotes ?? [])],
      bars: [],
      updatedBars: [],
      dailyBars: [],
      statuses: [],
      lulds: [],
      corrections: [...(st(c).trades ?? [])],
      cancelErrors: [...(st(c).trades ?? [])],
    },
  ];
  const server = await FakeFeedServer.start({
    path: '/v2/test',
    onConnection: (conn) => {
      if (opts.welcome !== false) conn.send([{ T: 'success', msg: 'connected' }]);
      afterUnlessClosed(conn, opts.authTimeoutMs ?? 10_000, () => {
        if (st(conn).authed) return;
        conn.send(error(404, 'auth timeout'));
        conn.ws.close(1000);
      });
    },
    onMessage: (conn, msg) => {
      const m = msg as { action?: unknown; key?: unknown; secret?: unknown; trades?: unknown; quotes?: unknown };
      if (typeof m !== 'object' || m === null || typeof m.action !== 'string')
        return conn.send(error(400, 'invalid syntax'));
      if (m.action === 'auth') {
        if (st(conn).authed) return conn.send(error(403, 'already authenticated'));
        if (m.key !== opts.key || m.secret !== opts.secret) return conn.send(error(402, 'auth failed'));
        // A frozen connection stands for one the real server has already found dead.
        const authed = [...server.connections].filter((c) => st(c).authed && !c.frozen).length;
        if (authed >= (opts.connectionLimit ?? 1)) {
          conn.send(error(406, 'connection limit exceeded'));
          return conn.ws.close(1000);
        }
        st(conn).authed = true;
        return conn.send([{ T: 'success', msg: 'authenticated' }]);
      }
      if (m.action !== 'subscribe' && m.action !== 'unsubscribe') return conn.send(error(400, 'invalid syntax'));
      if (!st(conn).authed) return conn.send(error(401, 'not authenticated'));
      for (const channel of ['trades', 'quotes'] as const) {
        const list = m[channel];
        if (list === undefined) continue;
        if (!Array.isArray(list)) return conn.send(error(400, 'invalid syntax'));
        const set = (st(conn)[channel] ??= new Set());
        for (const s of list) {
          if (m.action === 'subscribe') set.add(String(s));
          else set.delete(String(s));
        }
      }
      conn.send(subscription(conn));
    },
  });

  const route = (kind: 'trades' | 'quotes', items: (AlpacaTrade | AlpacaQuote)[]) => {
    for (const conn of server.connections) {
      const data = items.filter((d) => st(conn)[kind]?.has(d.S));
      if (data.length > 0) conn.send(data);
    }
  };

  return {
    server,
    url: server.url,
    subscriptions(): { trades: string[]; quotes: string[] } {
      const conn = [...server.connections].at(-1);
      return {
        trades: [...((conn && st(conn).trades) ?? [])].sort(),
        quotes: [...((conn && st(conn).quotes) ?? [])].sort(),
      };
    },
    trades: (items: AlpacaTrade[]) => route('trades', items),
    quotes: (items: AlpacaQuote[]) => route('quotes', items),
  };
}
