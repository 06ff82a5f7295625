// Entry of a sink encoder thread. It registers tsx itself rather than relying on the parent's module hooks
// reaching worker threads, so the thread loads the same way however the parent was started.
import { register } from 'tsx/esm/api';

register();
await import('./encode-worker.ts');
