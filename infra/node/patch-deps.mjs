// `postinstall`: two fixes to kafkajs 2.2.4, which has had no release since 2023. Each replaces one exact snippet
// and is idempotent; a kafkajs whose files differ (another version) is left alone with a warning, so an upgrade can
// never be patched blindly. Why and what they are worth: docs/DECISIONS.md §2.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PATCHES = [
  {
    // Grouping a batch by partition copied each partition's array once per message (`[...current, message]`):
    // quadratic in the batch size. With 10k-record batches it was a third of the producer's and processor's CPU.
    file: 'src/producer/groupMessagesPerPartition.js',
    from: `  return messages.reduce((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message })
    const current = result[partition] || []
    return Object.assign(result, { [partition]: [...current, message] })
  }, {})`,
    to: `  // ticklake patch (infra/node/patch-deps.mjs): linear, not a copy of the partition's array per message.
  const result = {}
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message })
    ;(result[partition] || (result[partition] = [])).push(message)
  }
  return result`,
  },
  {
    // Unthrottled, throttledUntil is -1, so this timer was set to about minus the epoch: Node clamps it to 1 ms, as
    // it always did, but Node 24 also prints a TimeoutNegativeWarning from every process. Same timing, no warning.
    file: 'src/network/requestQueue/index.js',
    from: `      }, scheduleAt)`,
    to: `      }, Math.max(1, scheduleAt)) // ticklake patch (infra/node/patch-deps.mjs): never a negative delay`,
  },
];

let root;
try {
  root = dirname(createRequire(import.meta.url).resolve('kafkajs/package.json'));
} catch {
  process.exit(0); // kafkajs not installed (e.g. a partial install): nothing to patch
}
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
for (const p of PATCHES) {
  const path = join(root, p.file);
  const text = readFileSync(path, 'utf8');
  if (text.includes(p.to)) continue;
  if (version !== '2.2.4' || !text.includes(p.from)) {
    console.warn(`ticklake: kafkajs ${version}: ${p.file} is not the known 2.2.4 code; not patched`);
    continue;
  }
  writeFileSync(path, text.replace(p.from, p.to));
}
