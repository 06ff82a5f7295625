import { z } from 'zod';
import { TickLakeError } from '../errors.ts';
import { SEVERITIES } from './filter.ts';

/**
 * A webhook endpoint as configured (`webhooks.endpoints`). Secrets are never in config: `secretEnv` names the
 * environment variables that hold them (two at once while rotating: we sign with both).
 */
export const endpointSchema = z.object({
  /** Labels metrics, state keys and dead letters: letters, digits, `.`, `_` and `-`. */
  name: z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)'),
  url: z.url(),
  secretEnv: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2)]),
  /** Only alerts of these rules / symbols (omitted = all) at or above this severity. */
  rules: z.array(z.string().min(1)).optional(),
  symbols: z.array(z.string().min(1)).optional(),
  minSeverity: z.enum(SEVERITIES).default('info'),
  /** `standard`: the alert as JSON in a Standard Webhooks envelope; `slack`: a Slack incoming-webhook message. */
  format: z.enum(['standard', 'slack']).default('standard'),
  /** Requests in flight to this endpoint at once (the per-endpoint limit); unset = webhooks.concurrency. */
  concurrency: z.number().int().min(1).max(256).optional(),
  /** A request not answered within this is a `timeout` attempt; unset = webhooks.timeoutMs. */
  timeoutMs: z.number().int().positive().optional(),
});
export type EndpointConfig = z.infer<typeof endpointSchema>;

export function secretEnvNames(e: Pick<EndpointConfig, 'secretEnv'>): string[] {
  return typeof e.secretEnv === 'string' ? [e.secretEnv] : e.secretEnv;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/** `hostname` is allowed by an entry: exact, or `*.example.com` for any subdomain of example.com. */
export function hostAllowed(hostname: string, allowedHosts: readonly string[]): boolean {
  const h = hostname.toLowerCase();
  return allowedHosts.some((entry) => {
    const a = entry.toLowerCase();
    if (a.startsWith('*.')) return h.endsWith(a.slice(1)) && h.length > a.length - 1;
    return h === a || (a === '::1' && h === '[::1]');
  });
}

/**
 * Why this URL may not be called, or null if it may: its host must be in the allowlist, and it must be https
 * unless the host is loopback (a receiver on this machine). The same rule refuses a redirect target.
 */
export function urlRefusal(url: string, allowedHosts: readonly string[]): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (u.username || u.password) return `${u.origin} carries credentials in the URL; use the signature instead`;
  if (!hostAllowed(u.hostname, allowedHosts)) {
    return `host ${u.hostname} is not in webhooks.allowedHosts (${allowedHosts.join(', ') || 'empty'})`;
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return null;
  return `${u.protocol}//${u.host} is not https (plain http is allowed on loopback only)`;
}

/** A Standard Webhooks secret: `whsec_` + base64 of at least 24 bytes. */
const SECRET = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;

/**
 * Checks every endpoint at start: unique names, allowed URLs, secrets present in `env` and well formed. Throws
 * CONFIG_INVALID listing every problem, so a bad config never starts delivering to half its endpoints.
 */
export function checkEndpoints(
  endpoints: readonly EndpointConfig[],
  allowedHosts: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const e of endpoints) {
    if (names.has(e.name)) problems.push(`endpoint ${e.name}: the name is used twice`);
    names.add(e.name);
    const refusal = urlRefusal(e.url, allowedHosts);
    if (refusal) problems.push(`endpoint ${e.name}: ${refusal}`);
    for (const v of secretEnvNames(e)) {
      const s = env[v];
      if (!s) problems.push(`endpoint ${e.name}: environment variable ${v} (its secret) is not set`);
      else if (!SECRET.test(s)) problems.push(`endpoint ${e.name}: ${v} is not a "whsec_" + base64 secret`);
    }
  }
  if (problems.length) {
    throw new TickLakeError('CONFIG_INVALID', `webhook endpoints refused:\n  ${problems.join('\n  ')}`);
  }
}

export function isSecretFormat(s: string): boolean {
  return SECRET.test(s);
}
