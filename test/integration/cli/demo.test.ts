import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../infra/config.ts';
import { kafkaClient, lakeStorage } from '../../../infra/clients.ts';
import { lakeStats } from '../../../lake/reader.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { topicName } from '../../../streaming/topics.ts';
import { uniqueName } from '../../support/ids.ts';
import { deleteTopicsWithPrefix } from '../../support/kafka.ts';

const BIN = fileURLToPath(new URL('../../../bin/ticklake.mjs', import.meta.url));
const prefix = `${uniqueName('demo')}.`;
const env = {
  ...process.env,
  TICKLAKE_TOPICS_PREFIX: prefix,
  TICKLAKE_PROCESSOR_GROUP_ID: `${prefix}processor`,
  TICKLAKE_S3_LAKE_PREFIX: `${prefix.replace('.', '')}/`,
  TICKLAKE_SINK_MAX_AGE_MS: '2000',
};
const config = loadConfig({ env, profile: testStackProfile() });

afterAll(async () => {
  await deleteTopicsWithPrefix(kafkaClient(config), prefix);
});

describe('ticklake demo (npm start)', () => {
  it('runs the pipeline, prints the URLs, and stops cleanly', async () => {
    const child = spawn(process.execPath, [BIN, '--profile', 'test', 'demo', '--duration', '45', '--keep-stack'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr.slice(-3000)).toBe(0);
    expect(stdout).toContain('temporal-ui');
    expect(stdout).toMatch(/http:\/\/127\.0\.0\.1:18233/);
    expect(stdout).toMatch(new RegExp(`dashboard\\s+http://127\\.0\\.0\\.1:${config.dashboard.port}/`));
    for (const stage of ['worker', 'process', 'sink', 'dashboard', 'ingest'])
      expect(stderr).toContain(`[demo] ${stage} stopped`);
    expect(stderr).not.toMatch(/restarting in/);

    // Ticks flowed end to end: the processor committed enriched output.
    const admin = kafkaClient(config).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topicName(config, 'enriched'));
    await admin.disconnect();
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBeGreaterThan(100);

    // ... and the sinks landed them in the lake.
    const stats = await lakeStats(lakeStorage(config), 'enriched');
    expect(stats.total.rows).toBeGreaterThan(50);
  }, 120_000);
});
