import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../../core/config.ts';
import { kafkaJars, run } from '../toolchain.ts';
import type { StackService } from '../service.ts';

const LOG4J2 = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaServer
        level: INFO
      - name: kafka.server.BrokerServer
        level: INFO
`;

function serverProperties(config: Config, dataDir: string): string {
  const { kafkaPort, kafkaControllerPort } = config.stack;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${kafkaControllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},CONTROLLER://127.0.0.1:${kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=6',
    'auto.create.topics.enable=false',
    // Single node: internal topics can only have one replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=6',
    'share.coordinator.state.topic.replication.factor=1',
    'group.initial.rebalance.delay.ms=0',
    'message.max.bytes=2097152',
    '',
  ].join('\n');
}

export const kafkaService: StackService = {
  name: 'kafka',
  optional: false,
  ports: (c) => [c.stack.kafkaPort, c.stack.kafkaControllerPort],
  async provision(ctx) {
    await kafkaJars(ctx.config.stack.cacheDir, ctx.config.stack.kafkaVersion, ctx.progress);
    return undefined;
  },
  async prepare(ctx) {
    const { cacheDir, stateDir, kafkaVersion } = ctx.config.stack;
    const libs = await kafkaJars(cacheDir, kafkaVersion, ctx.progress);
    const home = join(stateDir, 'kafka');
    const dataDir = join(home, 'data');
    mkdirSync(home, { recursive: true });
    const props = join(home, 'server.properties');
    writeFileSync(props, serverProperties(ctx.config, dataDir));
    const log4j = join(home, 'log4j2.yaml');
    writeFileSync(log4j, LOG4J2);
    const classpath = `${libs}/*`;
    if (!existsSync(join(dataDir, 'meta.properties'))) {
      ctx.progress('kafka: formatting KRaft storage');
      await run('java', [
        `-Dlog4j2.configurationFile=${log4j}`,
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        randomBytes(16).toString('base64url'),
        '-c',
        props,
      ]);
    }
    return {
      command: 'java',
      args: [
        '-Xms256m',
        '-Xmx1g',
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4j}`,
        `-Dkafka.logs.dir=${join(home, 'logs')}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        props,
      ],
      cwd: home,
    };
  },
  async healthy(config) {
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${config.stack.kafkaPort}`],
      clientId: 'ticklake-health',
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 1000,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  },
  urls: (c) => ({ kafka: `127.0.0.1:${c.stack.kafkaPort}` }),
};
