import { createHealthActivities, type HealthDeps } from './health.ts';

/** Every activity the worker registers, built from the clients the worker owns. */
export type ActivityDeps = HealthDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities(deps),
  };
}
