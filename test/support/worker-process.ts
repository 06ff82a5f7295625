/**
 * The batch layer's worker in a process of its own, for tests that SIGKILL it: the production composition root
 * (infra/temporal/worker.ts createWorker: the same activities, clients and failpoints) with the test stack's config,
 * which the parent points at its own Temporal, dataset, lake prefix and task queue through TICKLAKE_* variables
 * (and arms a failpoint with TICKLAKE_FAILPOINT=load-<point>:<n>). Prints `worker ready` on stderr once polling;
 * SIGTERM shuts it down. Run: `node --import tsx test/support/worker-process.ts`.
 */
import { loadConfig } from '../../infra/config.ts';
import { testStackProfile } from '../../infra/stack/profile.ts';
import { createWorker } from '../../infra/temporal/worker.ts';

const config = loadConfig({ profile: testStackProfile() });
const { worker, close } = await createWorker(config);
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
process.stderr.write(`worker ready on ${config.temporal.taskQueue}\n`);
await running;
await close();
