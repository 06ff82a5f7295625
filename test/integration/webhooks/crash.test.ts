import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { webhookIdFor } from '../../../core/webhooks/payload.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { loadConfig } from '../../../infra/config.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { ensureTopics, topicName } from '../../../streaming/topics.ts';
import { newSecret } from '../../../streaming/webhooks/sign.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix } from '../../support/kafka.ts';
import { waitForGroup, waitUntil } from '../../support/wait.ts';
import { EndpointServer, produceAlerts, testAlerts } from '../../support/webhooks.ts';

const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const prefix = `${uniqueName('whcrash')}.`;
const SECRET = newSecret();
const server = new EndpointServer(SECRET, () => ({ status: 500 }));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  WH_CRASH_SECRET: SECRET,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_TOPICS_PARTITIONS: '2',
  TICKLAKE_WEBHOOKS_RETRY_SCHEDULE_MS:
    '200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200',
  TICKLAKE_WEBHOOKS_RETRY_JITTER: '0',
  TICKLAKE_WEBHOOKS_BREAKER_FAILURES: '1000',
  TICKLAKE_METRICS_PORT: '29641',
  TICKLAKE_LOG_LEVEL: 'warn',
};
const config = loadConfig({ env, profile: testStackProfile() });
const kafka = kafkaClient(config, 'webhooks-crash-test');
const children: ChildProcess[] = [];

function startWebhooks(): { child: ChildProcess; ready: Promise<string>; log: () => string } {
  const child = spawn(process.execPath, [BIN, '--profile', 'test', 'webhooks'], {
    env: {
      ...env,
      TICKLAKE_WEBHOOKS_ENDPOINTS: JSON.stringify([{ name: 'desk', url: server.url, secretEnv: 'WH_CRASH_SECRET' }]),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-8000);
      const m = /\[webhooks\] delivering .*/.exec(err);
      if (m) resolve(m[0]);
    });
    child.once('exit', (code, signal) => reject(new Error(`webhooks exited (${code ?? signal}) before ready: ${err}`)));
  });
  return { child, ready, log: () => err };
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await server.close();
  await deleteTopicsWithPrefix(kafka, prefix);
});

describe('ticklake webhooks SIGKILLed mid-retry', () => {
  it('resumes every unfinished delivery with the same webhook-id after a restart, and skips no alert', async () => {
    await server.listen();
    await ensureTopics(kafka, config);
    const first = startWebhooks();
    await first.ready;
    const groupId = `${prefix}${config.webhooks.groupId}`;
    await waitForGroup(kafka, groupId, 1);

    const before = testAlerts(5);
    await produceAlerts(kafka, topicName(config, 'alerts'), before);
    // Mid-retry: every delivery has failed at least twice, so its retry state has been written.
    await waitUntil(
      () => before.every((a) => server.attemptsOf(webhookIdFor(a)).length >= 2),
      'two failed attempts of each',
      30_000,
    );
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const hitsAtKill = server.hits.length;

    // Alerts keep coming while the process is dead; the receiver recovers meanwhile.
    const during = testAlerts(3, { symbol: 'MSFT' });
    await produceAlerts(kafka, topicName(config, 'alerts'), during);
    server.behaviour = () => ({ status: 200 });

    const second = startWebhooks();
    expect(await second.ready).toMatch(/5 unfinished deliveries resumed/);
    const all = [...before, ...during].map(webhookIdFor);
    await waitUntil(() => all.every((id) => server.delivered().has(id)), 'every alert delivered', 60_000);

    // The resumed deliveries kept their ids: each was tried before the kill and delivered after it.
    for (const a of before) {
      const hits = server.attemptsOf(webhookIdFor(a));
      expect(hits.filter((h) => !h.ok).length).toBeGreaterThanOrEqual(2);
      expect(hits.some((h) => h.ok)).toBe(true);
    }
    expect(server.hits.length).toBeGreaterThan(hitsAtKill);
    expect(server.hits.every((h) => h.verified)).toBe(true);
    // Nothing beyond what was produced.
    expect([...server.delivered()].sort()).toEqual([...all].sort());
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    expect(second.log()).toContain('[webhooks] stopped');
  });
});
