import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../infra/config.ts';
import { kafkaClient } from '../../../infra/clients.ts';
import { applyTopics, topicSpecs } from '../../../streaming/topics.ts';
import { testStackProfile } from '../../../infra/stack/profile.ts';
import { uniqueName } from '../../support/ids.ts';

// kafkajs is CommonJS and Node's ESM loader can't see this named export: take it from the default export.
const { ConfigResourceTypes } = kafkajs;

const config = loadConfig({
  overrides: { ...testStackProfile(), topics: { prefix: `${uniqueName('t')}.`, partitions: 2 } },
});
const admin = kafkaClient(config).admin();
beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());

describe('topics apply', () => {
  it('creates every topic with its partitions and cleanup policy, then is a no-op', async () => {
    const specs = Object.values(topicSpecs(config));
    const first = await applyTopics(admin, specs, 1);
    expect(first.created.sort()).toEqual(specs.map((s) => s.name).sort());

    const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) });
    const partitions = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
    expect(partitions[`${config.topics.prefix}ticks.raw`]).toBe(2);
    expect(partitions[`${config.topics.prefix}reference.symbols`]).toBe(1);
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: `${config.topics.prefix}reference.symbols`,
          configNames: ['cleanup.policy'],
        },
      ],
    });
    expect(described.resources[0]!.configEntries[0]!.configValue).toBe('compact');

    const second = await applyTopics(admin, specs, 1);
    expect(second.created).toEqual([]);
    expect(second.unchanged.length).toBe(specs.length);
  });

  it('raises partitions and updates retention when the config changes, never lowers partitions', async () => {
    const grown = loadConfig({
      overrides: { ...testStackProfile(), topics: { prefix: config.topics.prefix, partitions: 3, retentionHours: 1 } },
    });
    const report = await applyTopics(admin, [topicSpecs(grown).raw], 1);
    expect(report.partitionsIncreased).toEqual([{ topic: `${config.topics.prefix}ticks.raw`, from: 2, to: 3 }]);
    expect(report.configsUpdated[0]!.keys).toEqual(['retention.ms']);

    const shrunk = loadConfig({
      overrides: { ...testStackProfile(), topics: { prefix: config.topics.prefix, partitions: 1, retentionHours: 1 } },
    });
    const again = await applyTopics(admin, [topicSpecs(shrunk).raw], 1);
    expect(again.warnings[0]).toMatch(/cannot reduce/);
  });
});
