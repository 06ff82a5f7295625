import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AttemptResult } from '../../core/webhooks/outcome.ts';

/**
 * One POST, no redirects followed (node:http never follows them), bounded by `timeoutMs` from the first byte
 * sent to the last one read. node:http rather than fetch: fetch refuses a list of "bad ports" and hides the
 * socket pool, while here each endpoint gets its own keep-alive agent sized to its concurrency limit.
 */
export type EndpointAgent = HttpAgent | HttpsAgent;

export function endpointAgent(url: string, concurrency: number): EndpointAgent {
  const opts = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency };
  return new URL(url).protocol === 'https:' ? new HttpsAgent(opts) : new HttpAgent(opts);
}

/** Bytes of a response body read before the rest is dropped: we only need the status. */
const MAX_BODY = 64 * 1024;

export function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; agent: EndpointAgent },
): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      agent: opts.agent,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'ticklake-webhooks/1',
      },
    });
    const timer = setTimeout(() => {
      finish({ kind: 'timeout', afterMs: opts.timeoutMs });
      req.destroy();
    }, opts.timeoutMs);
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const result: AttemptResult = {
        kind: 'response',
        status,
        retryAfter: header(res, 'retry-after'),
        location: header(res, 'location'),
      };
      // The status is the answer; the body is drained (so the socket is reused) up to a bound, then dropped.
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_BODY) {
          finish(result);
          res.destroy();
        }
      });
      res.on('end', () => finish(result));
      res.on('error', () => finish(result));
      res.on('aborted', () => finish(result));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      const code = err.code ?? err.name;
      if (code.startsWith('HPE_'))
        finish({ kind: 'malformed', detail: `not an HTTP response (${code}: ${err.message})` });
      else finish({ kind: 'network', detail: `${code}: ${err.message}` });
    });
    req.end(body);
  });
}

function header(res: IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}
