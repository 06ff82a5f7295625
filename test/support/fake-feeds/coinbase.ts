import { createHmac } from 'node:crypto';
import { afterUnlessClosed, everyWhileOpen, FakeFeedServer, type FakeConnection } from './server.ts';

/**
 * A local Coinbase Exchange WebSocket feed (https://docs.cdp.coinbase.com/exchange/websocket-feed/overview,
 * .../channels, .../authentication). Messages are JSON objects with a `type`:
 * - no subscribe within subscribeTimeoutMs -> disconnected (documented: 5 s);
 * - {"type":"subscribe","product_ids":[..],"channels":[names or {name,product_ids}]} -> {"type":"subscriptions",
 *   "channels":[{"name","product_ids"}]}; an unknown product -> {"type":"error","message":"Failed to subscribe",
 *   "reason":"<p> is not a valid product"}; "unsubscribe" answers with the remaining subscriptions;
 * - a signed subscribe (key, passphrase, timestamp, signature = base64 HMAC-SHA256 of timestamp +
 *   "GET/users/self/verify" keyed by the base64-decoded secret) is checked; a bad one gets the error real
 *   clients report (csko/gdax-python-api#11): "Sorry, you could not be authenticated: Bad Request" / "invalid signature";
 * - subscribing to matches sends the product's last trade as "last_match";
 * - heartbeat: {"type":"heartbeat","sequence","last_trade_id","product_id","time"} every heartbeatIntervalMs.
 * match() and ticker() take vendor-shaped messages; the fake tracks each product's last trade id and sequence.
 */
export interface CoinbaseMatch {
  type: 'match';
  trade_id: number;
  sequence: number;
  maker_order_id: string;
  taker_order_id: string;
  time: string;
  product_id: string;
  size: string;
  price: string;
  side: 'buy' | 'sell';
}

export interface CoinbaseTicker {
  type: 'ticker';
  sequence: number;
  product_id: string;
  price: string;
  open_24h: string;
  volume_24h: string;
  low_24h: string;
  high_24h: string;
  volume_30d: string;
  best_bid: string;
  best_bid_size: string;
  best_ask: string;
  best_ask_size: string;
  side: 'buy' | 'sell';
  time: string;
  trade_id: number;
  last_size: string;
}

export interface FakeCoinbaseOptions {
  products: string[];
  subscribeTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Credentials a signed subscribe must match (secret in base64, as Coinbase issues it). */
  auth?: { key: string; secret: string; passphrase: string };
}

interface ProductState {
  lastTradeId: number;
  sequence: number;
  lastMatch?: CoinbaseMatch;
}

type Subs = Map<string, Set<string>>;

export async function startFakeCoinbase(opts: FakeCoinbaseOptions) {
  const products = new Map<string, ProductState>(opts.products.map((p) => [p, { lastTradeId: 0, sequence: 0 }]));
  const subs = (c: FakeConnection) => (c.state.subs ??= new Map()) as Subs;
  const subscribed = (c: FakeConnection, channel: string, product: string) =>
    subs(c).get(channel)?.has(product) ?? false;
  const listing = (c: FakeConnection) => ({
    type: 'subscriptions',
    channels: [...subs(c)].filter(([, ps]) => ps.size > 0).map(([name, ps]) => ({ name, product_ids: [...ps] })),
  });

  const heartbeat = (conn: FakeConnection) => {
    for (const product of subs(conn).get('heartbeat') ?? []) {
      const p = products.get(product)!;
      conn.send({
        type: 'heartbeat',
        sequence: p.sequence,
        last_trade_id: p.lastTradeId,
        product_id: product,
        time: new Date().toISOString().replace('Z', '000Z'),
      });
    }
  };

  const server = await FakeFeedServer.start({
    onConnection: (conn) => {
      afterUnlessClosed(conn, opts.subscribeTimeoutMs ?? 5_000, () => {
        if (subs(conn).size === 0) conn.ws.close(1000);
      });
      everyWhileOpen(conn, opts.heartbeatIntervalMs ?? 1_000, () => heartbeat(conn));
    },
    onMessage: (conn, msg) => {
      const m = msg as Record<string, unknown>;
      if (typeof m !== 'object' || m === null || (m.type !== 'subscribe' && m.type !== 'unsubscribe')) {
        return conn.send({
          type: 'error',
          message: 'Failed to subscribe',
          reason: 'Type has to be either subscribe or unsubscribe',
        });
      }
      if ('signature' in m) {
        const a = opts.auth;
        const expected =
          a &&
          createHmac('sha256', Buffer.from(a.secret, 'base64'))
            .update(`${String(m.timestamp)}GET/users/self/verify`)
            .digest('base64');
        if (!a || m.key !== a.key || m.passphrase !== a.passphrase || m.signature !== expected) {
          return conn.send({
            type: 'error',
            message: 'Sorry, you could not be authenticated: Bad Request',
            reason: 'invalid signature',
          });
        }
      }
      const ids = Array.isArray(m.product_ids) ? m.product_ids.map(String) : [];
      const bad = ids.find((p) => !products.has(p));
      if (bad)
        return conn.send({ type: 'error', message: 'Failed to subscribe', reason: `${bad} is not a valid product` });
      const channels = Array.isArray(m.channels) ? m.channels : [];
      const added: [string, string][] = [];
      for (const ch of channels) {
        const name = typeof ch === 'string' ? ch : String((ch as { name?: unknown }).name);
        const ps = typeof ch === 'object' && Array.isArray(ch.product_ids) ? ch.product_ids.map(String) : ids;
        const set = subs(conn).get(name) ?? new Set<string>();
        subs(conn).set(name, set);
        for (const p of ps) {
          if (m.type === 'unsubscribe') set.delete(p);
          else if (!set.has(p)) {
            set.add(p);
            added.push([name, p]);
          }
        }
      }
      conn.send(listing(conn));
      for (const [name, p] of added) {
        const last = products.get(p)?.lastMatch;
        if (name === 'matches' && last) conn.send({ ...last, type: 'last_match' });
      }
    },
  });

  const state = (product: string) => {
    const p = products.get(product);
    if (!p) throw new Error(`fake coinbase: unknown product ${product}`);
    return p;
  };

  return {
    server,
    url: server.url,
    subscriptions(): Record<string, string[]> {
      const conn = [...server.connections].at(-1);
      return Object.fromEntries([...(conn ? subs(conn) : [])].map(([k, v]) => [k, [...v].sort()]));
    },
    /** Publishes a trade; trades must be published in trade_id order, skipping ids simulates lost messages. */
    match(m: CoinbaseMatch): void {
      const p = state(m.product_id);
      p.lastTradeId = Math.max(p.lastTradeId, m.trade_id);
      p.sequence = Math.max(p.sequence, m.sequence);
      p.lastMatch = m;
      for (const conn of server.connections) if (subscribed(conn, 'matches', m.product_id)) conn.send(m);
    },
    /** Records trades that happened but were never sent to anyone (the exchange moved on while we were away). */
    tradedUnseen(product: string, lastTradeId: number): void {
      state(product).lastTradeId = lastTradeId;
    },
    ticker(t: CoinbaseTicker): void {
      state(t.product_id).sequence = Math.max(state(t.product_id).sequence, t.sequence);
      for (const conn of server.connections) if (subscribed(conn, 'ticker', t.product_id)) conn.send(t);
    },
  };
}
