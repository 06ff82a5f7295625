/**
 * The lake's manifest, one module per job: the format and object keys (manifest/format.ts, pure), commit planning
 * (manifest/plan.ts, pure), the read path with its caches (manifest/store.ts), the commit protocol
 * (manifest/commit.ts) and maintenance (manifest/maintenance.ts). Importers take everything from here.
 */
export * from './manifest/format.ts';
export * from './manifest/plan.ts';
export * from './manifest/store.ts';
export * from './manifest/commit.ts';
export * from './manifest/maintenance.ts';
