import type { Command } from 'commander';
import { kafkaClient } from '../infra/clients.ts';
import { applyTopics, topicSpecs } from '../streaming/topics.ts';
import { configFrom } from './shared.ts';

export function registerTopicsCommand(program: Command): void {
  const topics = program.command('topics').description('Kafka topics ticklake owns');
  topics
    .command('apply')
    .description('Create or update every topic (partitions, retention, cleanup policy) from config; idempotent')
    .action(async (_o, cmd: Command) => {
      const config = configFrom(cmd);
      const admin = kafkaClient(config, 'ticklake-topics').admin();
      await admin.connect();
      try {
        const report = await applyTopics(admin, Object.values(topicSpecs(config)), config.topics.replicationFactor);
        for (const t of report.created) process.stdout.write(`created    ${t}\n`);
        for (const p of report.partitionsIncreased)
          process.stdout.write(`partitions ${p.topic}: ${p.from} -> ${p.to}\n`);
        for (const c of report.configsUpdated) process.stdout.write(`configs    ${c.topic}: ${c.keys.join(', ')}\n`);
        for (const t of report.unchanged) process.stdout.write(`unchanged  ${t}\n`);
        for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
      } finally {
        await admin.disconnect();
      }
    });
  topics
    .command('list')
    .description('The declared topics with their settings')
    .action((_o, cmd: Command) => {
      for (const s of Object.values(topicSpecs(configFrom(cmd)))) {
        process.stdout.write(`${s.name}\tpartitions=${s.partitions}\t${JSON.stringify(s.configs)}\n`);
      }
    });
}
