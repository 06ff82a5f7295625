import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../core/webhooks/endpoint.ts';

/**
 * The dashboard's one shared token (docs/DECISIONS.md §30). A client presents it as `Authorization: Bearer <token>`,
 * or a browser opens `/?token=<token>` once: the server answers with an HttpOnly, SameSite=Strict cookie and a
 * redirect to the same page without the token, so it leaves the address bar and history and never reaches a page.
 */
export const COOKIE = 'ticklake_dashboard';

/** Why binding `host` is refused (beyond loopback with no token), or null. */
export function bindRefusal(host: string, token: string | undefined): string | null {
  const h = host.trim();
  if (token) return null;
  if (isLoopbackHost(h) || h === '::1') return null;
  return (
    `dashboard.host ${h} is beyond loopback and no token is set: set TICKLAKE_DASHBOARD_TOKEN ` +
    `(e.g. export TICKLAKE_DASHBOARD_TOKEN=$(openssl rand -hex 24)) or bind 127.0.0.1`
  );
}

// Digests first, so the comparison takes the same time whatever the lengths.
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The token a request carries: the Authorization header first, then the session cookie. */
export function presentedToken(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return cookieValue(req.headers.cookie, COOKIE);
}

export function sessionCookie(token: string, secure: boolean): string {
  return `${COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
