import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertSchema, type Alert } from '../../core/schemas/alert.ts';
import { TickLakeError } from '../../core/errors.ts';
import { ALERT_EVENT_TYPE } from '../../core/webhooks/payload.ts';
import { REPORT_EVENT_TYPE, reportPublishedSchema, type ReportRef } from '../../core/schemas/report.ts';
import { signatureValid } from './sign.ts';

export interface ReceiverOptions {
  /** Key bytes of every secret accepted (two while rotating). */
  secrets: Buffer[];
  toleranceSec: number;
  /** webhook-ids remembered (oldest forgotten first). */
  seenCapacity: number;
  /** One readable line per alert received (stdout in the CLI). */
  print: (line: string) => void;
  /** Every accepted alert, for embedding callers (tests, benchmarks). */
  onAlert?: (alert: Alert, webhookId: string, receivedAtMs: number) => void;
  /** Every accepted daily-report announcement (`report.published`). */
  onReport?: (report: ReportRef, webhookId: string, receivedAtMs: number) => void;
  now?: () => number;
}

export type Verdict =
  | { status: 'accepted'; webhookId: string }
  | { status: 'duplicate'; webhookId: string }
  | { status: 'rejected'; http: number; reason: string };

const MAX_BODY = 1024 * 1024;

/**
 * `ticklake webhook-receiver`: accepts a webhook only with a Standard Webhooks signature by one of its secrets
 * and a timestamp within the tolerance. A webhook-id seen before is acknowledged (200, so the sender stops
 * retrying) but not processed again: that is both a replay's defence and an at-least-once sender's dedupe.
 */
export class WebhookReceiver {
  private readonly seen = new Map<string, true>();
  private server: Server | null = null;
  private readonly now: () => number;
  readonly counts = { accepted: 0, duplicate: 0, rejected: 0 };

  constructor(private readonly o: ReceiverOptions) {
    this.now = o.now ?? Date.now;
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new TickLakeError(
                'PORT_IN_USE',
                `receiver port ${host}:${port} is in use; set webhooks.receiverPort (TICKLAKE_WEBHOOKS_RECEIVER_PORT)`,
              )
            : err,
        ),
      );
      server.listen(port, host, resolve);
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Judges one request: headers, timestamp, signature, replay, then the body. */
  check(
    headers: Record<string, string | undefined>,
    body: Buffer,
  ): Verdict & { alert?: Alert; report?: ReportRef; text?: string } {
    const id = headers['webhook-id'];
    const ts = headers['webhook-timestamp'];
    const sig = headers['webhook-signature'];
    if (!id || !ts || !sig)
      return { status: 'rejected', http: 400, reason: 'missing webhook-id, -timestamp or -signature' };
    if (!/^\d+$/.test(ts)) return { status: 'rejected', http: 400, reason: 'webhook-timestamp is not a number' };
    const skew = Number(ts) - this.now() / 1000;
    if (Math.abs(skew) > this.o.toleranceSec) {
      return {
        status: 'rejected',
        http: 400,
        reason: `timestamp ${skew > 0 ? 'ahead' : 'behind'} by ${Math.round(Math.abs(skew))} s (tolerance ${this.o.toleranceSec} s)`,
      };
    }
    if (!signatureValid(this.o.secrets, id, ts, body, sig)) {
      return { status: 'rejected', http: 401, reason: 'no valid signature' };
    }
    if (this.seen.has(id)) return { status: 'duplicate', webhookId: id };
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return { status: 'rejected', http: 400, reason: 'body is not JSON' };
    }
    const p = parsed as { type?: unknown; data?: unknown; text?: unknown };
    let alert: Alert | undefined;
    let report: ReportRef | undefined;
    let text: string | undefined;
    if (p.type === REPORT_EVENT_TYPE) {
      const r = reportPublishedSchema.safeParse(parsed);
      if (!r.success) return { status: 'rejected', http: 400, reason: `not a report: ${r.error.issues[0]?.message}` };
      report = r.data.data;
    } else if (p.type === ALERT_EVENT_TYPE) {
      const a = alertSchema.safeParse(p.data);
      if (!a.success) return { status: 'rejected', http: 400, reason: `not an alert: ${a.error.issues[0]?.message}` };
      alert = a.data;
    } else if (typeof p.text === 'string') {
      text = p.text;
    } else {
      return {
        status: 'rejected',
        http: 400,
        reason: 'neither an alert.fired or report.published event nor a Slack message',
      };
    }
    this.remember(id);
    return { status: 'accepted', webhookId: id, alert, report, text };
  }

  private remember(id: string): void {
    this.seen.set(id, true);
    if (this.seen.size > this.o.seenCapacity) this.seen.delete(this.seen.keys().next().value!);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return reply(res, 405, { error: 'POST only' });
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of req as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_BODY) return reply(res, 413, { error: 'body over 1 MiB' });
        chunks.push(c);
      }
    } catch {
      return;
    }
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, single(req.headers[h])]),
    );
    const v = this.check(headers, Buffer.concat(chunks));
    const at = this.now();
    const stamp = new Date(at).toISOString();
    if (v.status === 'rejected') {
      this.counts.rejected++;
      this.o.print(`${stamp} REJECTED ${v.http} ${v.reason} (webhook-id ${headers['webhook-id'] ?? '-'})`);
      return reply(res, v.http, { error: v.reason });
    }
    if (v.status === 'duplicate') {
      this.counts.duplicate++;
      this.o.print(`${stamp} duplicate ${v.webhookId} acknowledged, not processed again`);
      return reply(res, 200, { duplicate: true });
    }
    this.counts.accepted++;
    if (v.alert) {
      const a = v.alert;
      const lag = Math.round(at - a.ts / 1000);
      this.o.print(
        `${stamp} ${a.severity.toUpperCase()} ${a.rule} ${a.symbol}: ${a.message} ` +
          `(value ${a.value}, threshold ${a.threshold}, ${lag} ms after the event) id=${v.webhookId}`,
      );
      this.o.onAlert?.(a, v.webhookId, at);
    } else if (v.report) {
      const r = v.report;
      this.o.print(
        `${stamp} REPORT ${r.date}: ${r.summary.symbols} symbols, ${r.summary.alerts} alerts; ${r.html.uri}` +
          `${r.pdf ? ` ${r.pdf.uri}` : ''} id=${v.webhookId}`,
      );
      this.o.onReport?.(r, v.webhookId, at);
    } else {
      this.o.print(`${stamp} slack message: ${v.text} id=${v.webhookId}`);
    }
    reply(res, 200, { ok: true });
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
