#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx: no build step between an edit and a run.
import { register } from 'tsx/esm/api';

// Node 20 is our target; the AWS SDK warns on every process that it will want Node 22 from 2027 (docs/DECISIONS.md).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// We pick partitions by key with kafkajs' default (murmur2, as the Java client): nothing to migrate from.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
register();
await import('../cli/main.ts');
