// Everything the worker bundles into Temporal's workflow sandbox: workflows only, no activities or I/O.
export { compactionSweepWorkflow, compactPartitionWorkflow } from './compaction.ts';
export { healthCheckWorkflow } from './health-check.ts';
export { vacuumWorkflow } from './vacuum.ts';
export { backfillWorkflow, warehouseLoadSweepWorkflow, warehouseLoadWorkflow } from './warehouse.ts';
export { dailyReportWorkflow } from './report.ts';
export { reconciliationWorkflow } from './reconciliation.ts';
export { anomalyScoringWorkflow, modelTrainingWorkflow } from './models.ts';
