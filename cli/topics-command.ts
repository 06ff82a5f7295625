import type { Command } from 'commander';
import { kafkaClient } from '../infra/clients.ts';
import { applyTopics, topicSpecs } from '../streaming/topics.ts';
import { emit, examples } from './output.ts';
import { configFrom } from './shared.ts';

export function registerTopicsCommand(program: Command): void {
  const topics = program.command('topics').description('Kafka topics ticklake owns');
  examples(topics, [
    ['ticklake topics list', 'names, partitions, settings from config'],
    ['ticklake topics apply', 'create or update them on the broker'],
  ]);
  topics
    .command('apply')
    .description('Create or update every topic (partitions, retention, cleanup policy) from config; idempotent')
    .option('--json', 'print the report as JSON: { created, partitionsIncreased, configsUpdated, unchanged, warnings }')
    .addHelpText(
      'after',
      '\nExamples:\n  ticklake topics apply\n  TICKLAKE_TOPICS_PARTITIONS=12 ticklake topics apply --json',
    )
    .action(async (_o, cmd: Command) => {
      const config = configFrom(cmd);
      const admin = kafkaClient(config, 'ticklake-topics').admin();
      await admin.connect();
      try {
        const report = await applyTopics(admin, Object.values(topicSpecs(config)), config.topics.replicationFactor);
        emit(cmd, report, (r) => {
          for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
          return [
            ...r.created.map((t) => `created    ${t}\n`),
            ...r.partitionsIncreased.map((p) => `partitions ${p.topic}: ${p.from} -> ${p.to}\n`),
            ...r.configsUpdated.map((c) => `configs    ${c.topic}: ${c.keys.join(', ')}\n`),
            ...r.unchanged.map((t) => `unchanged  ${t}\n`),
          ].join('');
        });
      } finally {
        await admin.disconnect();
      }
    });
  topics
    .command('list')
    .description('The declared topics with their settings')
    .option('--json', 'print [{ name, partitions, configs }] as JSON')
    .addHelpText('after', "\nExamples:\n  ticklake topics list\n  ticklake topics list --json | jq -r '.[].name'")
    .action((_o, cmd: Command) => {
      const specs = Object.values(topicSpecs(configFrom(cmd))).map((s) => ({
        name: s.name,
        partitions: s.partitions,
        configs: s.configs,
      }));
      emit(cmd, specs, (list) =>
        list.map((s) => `${s.name}\tpartitions=${s.partitions}\t${JSON.stringify(s.configs)}\n`).join(''),
      );
    });
}
