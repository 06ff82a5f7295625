import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures: `v1,` + base64 HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`,
 * keyed by the base64 bytes after the secret's `whsec_` prefix. Several secrets sign side by side
 * (space-separated), which is how a secret is rotated without a moment when the receiver rejects us.
 */
const PREFIX = 'whsec_';

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

function hmac(key: Buffer, id: string, timestampSec: number, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestampSec}.`).update(body).digest();
}

/** The `webhook-signature` header value for `secrets` (each `whsec_…`). */
export function signatureHeader(secrets: readonly Buffer[], id: string, timestampSec: number, body: string): string {
  return secrets.map((k) => `v1,${hmac(k, id, timestampSec, body).toString('base64')}`).join(' ');
}

/** The three headers of one attempt. */
export function webhookHeaders(secrets: readonly Buffer[], id: string, timestampSec: number, body: string) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signatureHeader(secrets, id, timestampSec, body),
  };
}

/** Whether any `v1` signature in `header` was made by any of `secrets` over this message (constant-time compare). */
export function signatureValid(
  secrets: readonly Buffer[],
  id: string,
  timestamp: string,
  body: Buffer,
  header: string,
): boolean {
  if (!/^\d+$/.test(timestamp)) return false;
  const expected = secrets.map((k) => hmac(k, id, Number(timestamp), body));
  for (const part of header.split(' ')) {
    const [version, sig] = part.split(',', 2);
    if (version !== 'v1' || !sig) continue;
    const given = Buffer.from(sig, 'base64');
    if (expected.some((e) => e.length === given.length && timingSafeEqual(e, given))) return true;
  }
  return false;
}

/** A new secret in the Standard Webhooks format (`ticklake webhooks secret`). */
export function newSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}
