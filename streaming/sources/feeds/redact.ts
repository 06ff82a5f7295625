import type { Logger } from '../../../infra/logger.ts';

/**
 * Secrets must never reach a log line or an error message. Vendors put them in places that leak easily (Finnhub:
 * the URL query; Alpaca, Polygon: the first frame sent), so instead of trusting every call site, everything a
 * feed logs or throws goes through a redactor that knows the secret values themselves.
 */
export type Redactor = (text: string) => string;

export function makeRedactor(secrets: readonly string[]): Redactor {
  // Longest first, so a secret that contains another is masked whole.
  const values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  const encoded = values.flatMap((v) => [v, encodeURIComponent(v)]).filter((v, i, all) => all.indexOf(v) === i);
  return (text) => {
    let out = text;
    for (const v of encoded) out = out.split(v).join('***');
    return out;
  };
}

function redactValue(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, redact, depth + 1)]));
}

/** A logger that masks every secret in the message and in any field, however deeply nested. */
export function redactingLogger(inner: Logger, redact: Redactor): Logger {
  const wrap =
    (fn: (msg: string, fields?: Record<string, unknown>) => void) => (msg: string, fields?: Record<string, unknown>) =>
      fn(redact(msg), fields && (redactValue(fields, redact) as Record<string, unknown>));
  return {
    debug: wrap(inner.debug),
    info: wrap(inner.info),
    warn: wrap(inner.warn),
    error: wrap(inner.error),
    child: (fields) => redactingLogger(inner.child(redactValue(fields, redact) as Record<string, unknown>), redact),
  };
}

/** A message safe to show for any thrown value. */
export function describeError(err: unknown, redact: Redactor): string {
  if (err instanceof Error) return redact(err.message);
  return redact(String(err));
}
