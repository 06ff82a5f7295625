// Entry of a sink encoder thread. Module hooks registered in the parent (tsx) do not reach worker threads on
// Node 20, so the thread registers its own before loading the TypeScript body.
import { register } from 'tsx/esm/api';

register();
await import('./encode-worker.ts');
