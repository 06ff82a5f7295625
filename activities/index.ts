import { withFailureMapping } from './failures.ts';
import { createHealthActivities, type HealthDeps } from './health.ts';

/** Every activity the worker registers, built from the clients the worker owns. */
export type ActivityDeps = HealthDeps;

export function createActivities(deps: ActivityDeps) {
  // Every activity's TickLakeErrors reach Temporal as ApplicationFailures typed by code (activities/failures.ts).
  return withFailureMapping({
    ...createHealthActivities(deps),
  });
}
