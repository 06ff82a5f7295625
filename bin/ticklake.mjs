#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx: no build step between an edit and a run.
import { register } from 'tsx/esm/api';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `ticklake needs Node.js 24 or newer; this is ${process.version}. ` +
      'Run `. infra/node/env.sh` in this shell to put Node 24 on PATH (provisioned from the npm registry).\n',
  );
  process.exit(1);
}

// We pick partitions by key with kafkajs' default (murmur2, as the Java client): nothing to migrate from.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
register();
await import('../cli/main.ts');
