/**
 * Activities: plain async functions over one typed dependency object. The worker registers what
 * {@link createActivities} returns; the interpreter calls them by name.
 */
import { TaskError } from '../errors/index.js';
import { createRunTask, type ActivityDeps } from './run-task.js';

export type { ActivityDeps } from './run-task.js';
export { createAttemptLog, type AttemptLog, type AttemptLogOptions, type AttemptLogTarget } from './attempt-log.js';

/** Builds every activity Maestro registers. */
export function createActivities(deps: ActivityDeps) {
  return { runTask: createRunTask(deps), writeReceipt: deps.writeReceipt };
}

/** The activities' types, for `proxyActivities<Activities>()` in the interpreter. */
export type Activities = ReturnType<typeof createActivities>;

/** Resolves secrets from `MAESTRO_SECRET_<NAME>` environment variables (name upper-cased, `.`/`-` → `_`). */
export function envSecrets(env: NodeJS.ProcessEnv = process.env): ActivityDeps['secrets'] {
  return (name) => {
    const key = `MAESTRO_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    const value = env[key];
    if (value === undefined) {
      return Promise.reject(new TaskError(`secret "${name}" is not set (expected environment variable ${key})`, { code: 'CONFIG_INVALID', retryable: false }));
    }
    return Promise.resolve(value);
  };
}
