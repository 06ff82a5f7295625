import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { TickLakeError } from '../core/errors.ts';

/** What the dashboard serves besides its API: the page's files, the headers every response carries, JSON. */
export const STATIC = new URL('./static/', import.meta.url);
const require = createRequire(import.meta.url);
// The package exports only its ES module; the standalone build (one global, no bundler) sits beside package.json.
const CHARTS = new URL(
  'dist/lightweight-charts.standalone.production.js',
  pathToFileURL(require.resolve('lightweight-charts/package.json')),
);

/**
 * lightweight-charts styles its attribution logo with one <style> element; the policy allows exactly that text by its
 * hash (read from the pinned bundle), so no other inline style can run.
 */
function chartsStyleHash(bundle: string): string {
  const m = /createElement\("style"\),this\.\w+\.innerText="([^"]+)"/.exec(bundle);
  if (!m)
    throw new TickLakeError('INTERNAL', 'lightweight-charts bundle: attribution style not found (version changed?)');
  return `'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`;
}

export const SECURITY_HEADERS = {
  'content-security-policy':
    `default-src 'self'; script-src 'self'; style-src 'self' ${chartsStyleHash(readFileSync(CHARTS, 'utf8'))}; ` +
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export const PUBLIC = new Set(['/style.css', '/favicon.svg', '/login.html']);

export interface Asset {
  type: string;
  body: Buffer;
}

export function loadAssets(): Map<string, Asset> {
  const file = (name: string) => readFileSync(new URL(name, STATIC));
  return new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', body: file('index.html') }],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: file('app.js') }],
    ['/style.css', { type: 'text/css; charset=utf-8', body: file('style.css') }],
    ['/favicon.svg', { type: 'image/svg+xml', body: file('favicon.svg') }],
    ['/login.html', { type: 'text/html; charset=utf-8', body: file('login.html') }],
    ['/vendor/lightweight-charts.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(CHARTS) }],
  ]);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
  });
  res.end(text);
}
