// Everything the worker bundles into Temporal's workflow sandbox: workflows only, no activities or I/O.
export { healthCheckWorkflow } from './health-check.ts';
