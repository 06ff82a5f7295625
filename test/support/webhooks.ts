import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Kafka } from 'kafkajs';
import { Webhook } from 'standardwebhooks';
import type { Alert } from '../../core/schemas/alert.ts';
import { alertId } from '../../core/schemas/alert.ts';
import { uniqueName } from './ids.ts';

/** One request an endpoint server got, with whether the standardwebhooks package accepts its signature. */
export interface Hit {
  id: string;
  timestamp: number;
  at: number;
  verified: boolean;
  body: string;
  /** Answered with a 2xx. */
  ok?: boolean;
}

/** What a test endpoint does with the n-th request (1-based) for a webhook-id. */
export type Behaviour = (
  n: number,
  id: string,
) => { status: number; headers?: Record<string, string>; delayMs?: number } | 'garbage' | 'hang';

/**
 * A real webhook receiver on loopback whose answers the test scripts: records every request, verifies its
 * signature with the off-the-shelf verifier, answers per `behaviour`. `garbage` writes bytes that are not HTTP.
 */
export class EndpointServer {
  readonly hits: Hit[] = [];
  private readonly counts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly server: TcpServer;
  private readonly http: Server;
  port = 0;

  constructor(
    private readonly secret: string,
    public behaviour: Behaviour,
  ) {
    this.http = createServer((req, res) => void this.handle(req, res));
    // A TCP front so a request can be answered with non-HTTP bytes; everything else goes to the HTTP server.
    this.server = createTcpServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.http.emit('connection', socket);
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Ids that got a 2xx. */
  delivered(): Set<string> {
    return new Set(this.hits.filter((h) => h.ok).map((h) => h.id));
  }

  attemptsOf(id: string): Hit[] {
    return this.hits.filter((h) => h.id === id);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks).toString();
    const headers = {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    };
    let verified: boolean;
    try {
      new Webhook(this.secret).verify(body, headers);
      verified = true;
    } catch {
      verified = false;
    }
    const id = headers['webhook-id'];
    const n = (this.counts.get(id) ?? 0) + 1;
    this.counts.set(id, n);
    const hit: Hit = { id, timestamp: Number(headers['webhook-timestamp']), at: Date.now(), verified, body };
    this.hits.push(hit);
    const b = this.behaviour(n, id);
    if (b === 'hang') return;
    if (b === 'garbage') {
      req.socket.end('this is not HTTP\r\n\r\n');
      return;
    }
    if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    hit.ok = b.status >= 200 && b.status < 300;
    res.writeHead(b.status, b.headers);
    res.end(hit.ok ? '{"ok":true}' : 'no');
  }
}

/** Alerts with distinct deterministic ids. */
export function testAlerts(
  count: number,
  opts: { symbol?: string; rule?: string; severity?: Alert['severity'] } = {},
): Alert[] {
  const base = Date.now() * 1000;
  const tag = uniqueName('w');
  return Array.from({ length: count }, (_, i) => {
    const windowStart = base + i;
    const rule = opts.rule ?? 'price_move';
    const symbol = opts.symbol ?? 'AAPL';
    return {
      v: 1 as const,
      id: `${alertId(rule, symbol, windowStart)}:${tag}`,
      rule,
      symbol,
      severity: opts.severity ?? 'warning',
      ts: windowStart,
      windowStart,
      value: 3 + i,
      threshold: 2,
      message: `${symbol} moved ${3 + i}%`,
      emittedTs: base + 1000,
    };
  });
}

/** Writes alerts (and any extra raw values) to `topic` in one transaction, as the alerts process does. */
export async function produceAlerts(kafka: Kafka, topic: string, alerts: Alert[], raw: string[] = []): Promise<void> {
  const producer = kafka.producer({
    transactionalId: uniqueName('alerts-test'),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    const txn = await producer.transaction();
    await txn.send({
      topic,
      messages: [
        ...alerts.map((a) => ({ key: a.symbol, value: JSON.stringify(a) })),
        ...raw.map((value) => ({ key: 'junk', value })),
      ],
    });
    await txn.commit();
  } finally {
    await producer.disconnect();
  }
}
