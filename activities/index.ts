import { createHealthActivities, type HealthDeps } from './health.ts';
import { createLakeActivities, type LakeActivityDeps } from './lake.ts';
import { createReportActivities, type ReportActivityDeps } from './report.ts';
import { createReconcileActivities, type ReconcileDeps } from './reconcile.ts';
import { createModelActivities, type ModelActivityDeps } from './models.ts';
import { createWarehouseActivities, type WarehouseActivityDeps } from './warehouse.ts';

/** Every activity the worker registers, built from the clients the worker owns. */
export interface ActivityDeps extends HealthDeps {
  lake: LakeActivityDeps;
  warehouse: WarehouseActivityDeps;
  reports: ReportActivityDeps;
  reconcile: ReconcileDeps;
  models: ModelActivityDeps;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities(deps),
    ...createLakeActivities(deps.lake),
    ...createWarehouseActivities(deps.warehouse),
    ...createReportActivities(deps.reports),
    ...createReconcileActivities(deps.reconcile),
    ...createModelActivities(deps.models),
  };
}
