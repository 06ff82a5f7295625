import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPaths, envNameFor, redactConfig } from '../../../core/config.ts';
import { configReference } from '../../../core/config-reference.ts';
import { loadConfig } from '../../../infra/config.ts';
import { isTickLakeError } from '../../../core/errors.ts';

describe('config', () => {
  it('derives env names from schema paths', () => {
    expect(envNameFor('kafka.brokers')).toBe('TICKLAKE_KAFKA_BROKERS');
    expect(envNameFor('stack.kafkaControllerPort')).toBe('TICKLAKE_STACK_KAFKA_CONTROLLER_PORT');
    expect(configPaths()).toContain('s3.secretAccessKey');
  });

  it('layers defaults < file < env < overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'ticklake.yaml');
    writeFileSync(file, 'kafka:\n  clientId: from-file\ns3:\n  bucket: file-bucket\n');
    const config = loadConfig({
      file,
      env: { TICKLAKE_S3_BUCKET: 'env-bucket', TICKLAKE_KAFKA_BROKERS: 'a:1, b:2' },
      overrides: { temporal: { taskQueue: 'q2' } },
    });
    expect(config.kafka.clientId).toBe('from-file');
    expect(config.s3.bucket).toBe('env-bucket');
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.temporal.taskQueue).toBe('q2');
    expect(config.stack.kafkaPort).toBe(9092);
  });

  it('names the bad key and the variable it came from', () => {
    let caught: unknown;
    try {
      loadConfig({ env: { TICKLAKE_STACK_KAFKA_PORT: 'ninety', TICKLAKE_S3_FORCE_PATH_STYLE: 'yes' } });
    } catch (err) {
      caught = err;
    }
    expect(isTickLakeError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain('stack.kafkaPort (from TICKLAKE_STACK_KAFKA_PORT)');
  });

  it('rejects a port out of range and an unknown log level', () => {
    expect(() => loadConfig({ env: { TICKLAKE_STACK_S3_PORT: '70000' } })).toThrow(/stack\.s3Port/);
    expect(() => loadConfig({ env: { TICKLAKE_LOG_LEVEL: 'loud' } })).toThrow(/log\.level/);
  });

  it('masks secrets when printed', () => {
    const shown = JSON.stringify(
      redactConfig(loadConfig({ env: { TICKLAKE_S3_SECRET_ACCESS_KEY: 'hunter22-secret' } })),
    );
    expect(shown).not.toContain('hunter22-secret');
    expect(shown).toContain('***');
  });
});

describe('docs/CONFIG.md', () => {
  it('is the current generated reference (regenerate: npx ticklake config docs > docs/CONFIG.md)', () => {
    const text = readFileSync(new URL('../../../docs/CONFIG.md', import.meta.url), 'utf8');
    expect(text).toBe(configReference());
  });
});
