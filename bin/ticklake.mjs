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

// kafkajs 2.2.4 schedules a timer at `throttledUntil - Date.now()` with throttledUntil = -1 when not throttled
// (src/network/requestQueue/index.js); Node 24 clamps it to 1 ms, as older Nodes did silently, and warns. The warning
// says nothing an operator can act on, so that one is dropped; every other warning still prints.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  // Only that timer's signature: a delay near minus the epoch in ms (-1 - Date.now()).
  if (type === 'TimeoutNegativeWarning' && Number.parseFloat(String(warning)) < -1e12) return;
  return emitWarning.call(process, warning, ...rest);
};
// We pick partitions by key with kafkajs' default (murmur2, as the Java client): nothing to migrate from.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
register();
await import('../cli/main.ts');
