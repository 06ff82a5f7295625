import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function run(args: string[], env: Record<string, string>) {
  // Kafka points at a closed port: a refusal must come before any connection is tried.
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, TICKLAKE_KAFKA_BROKERS: '127.0.0.1:1', TICKLAKE_METRICS_PORT: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('ticklake webhooks refuses bad endpoints at start', () => {
  it('names a host outside the allowlist and plain http beyond loopback, before connecting to anything', () => {
    const r = run(['webhooks'], {
      S: SECRET,
      TICKLAKE_WEBHOOKS_ALLOWED_HOSTS: '127.0.0.1,hooks.example.com',
      TICKLAKE_WEBHOOKS_ENDPOINTS: JSON.stringify([
        { name: 'evil', url: 'https://evil.example/x', secretEnv: 'S' },
        { name: 'plain', url: 'http://hooks.example.com/x', secretEnv: 'S' },
        { name: 'nosecret', url: 'https://hooks.example.com/x', secretEnv: 'UNSET_SECRET_VAR' },
      ]),
    });
    expect(r.status).toBe(3); // CONFIG_INVALID (cli/errors.ts)
    expect(r.stderr).toContain('ticklake: CONFIG_INVALID: webhook endpoints refused:');
    expect(r.stderr).toContain('endpoint evil: host evil.example is not in webhooks.allowedHosts');
    expect(r.stderr).toContain('endpoint plain: http://hooks.example.com is not https');
    expect(r.stderr).toContain('endpoint nosecret: environment variable UNSET_SECRET_VAR (its secret) is not set');
  }, 60_000);

  it('names a malformed endpoint entry by its key', () => {
    const r = run(['webhooks'], { TICKLAKE_WEBHOOKS_ENDPOINTS: JSON.stringify([{ name: 'a b', url: 'x' }]) });
    expect(r.status).toBe(3); // CONFIG_INVALID (cli/errors.ts)
    expect(r.stderr).toContain('webhooks.endpoints.0.name');
    expect(r.stderr).toContain('webhooks.endpoints.0.url');
    const bad = run(['webhooks'], { TICKLAKE_WEBHOOKS_ENDPOINTS: '[{"name":' });
    expect(bad.status).toBe(3);
    expect(bad.stderr).toMatch(/webhooks\.endpoints.*not JSON/);
  }, 60_000);

  it('webhook-receiver refuses to start without a whsec_ secret', () => {
    const r = run(['webhook-receiver'], { TICKLAKE_WEBHOOK_SECRET: 'hunter2' });
    expect(r.status).toBe(3); // CONFIG_INVALID (cli/errors.ts)
    expect(r.stderr).toContain('TICKLAKE_WEBHOOK_SECRET must hold a whsec_ secret');
  }, 60_000);
});
