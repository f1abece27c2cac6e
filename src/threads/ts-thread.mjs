// Loads a thread's TypeScript module (see pool.ts): Maestro ships TypeScript sources, and a thread
// does not inherit its parent's loader hooks (neither `node --import tsx` nor vitest's), so it
// registers tsx itself, as bin/maestro.js does, then imports the module named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
