import type { ResourceClassSetting, RunnersSettings } from '../config/index.js';
import { RunnerError } from './runner-error.js';

/** What a resource class grants one attempt. */
export interface ResourceClass {
  /** Its name, `small`, `medium`, `large` or a custom one from config. */
  name: string;
  /** CPU cores (fractions allowed): a cgroup quota, a Kubernetes request and limit. */
  cpu: number;
  /** Memory in bytes: a hard limit (the container is OOM-killed above it). */
  memoryBytes: number;
  /** Longest an attempt of this class may run, in milliseconds. */
  timeoutMs: number;
}

const MIB = 1024 * 1024;

/**
 * The built-in classes; `MAESTRO_RESOURCE_CLASSES` (or `resourceClasses` in the config file)
 * overrides them by name and adds custom ones.
 */
export const DEFAULT_RESOURCE_CLASSES: Readonly<Record<string, ResourceClassSetting>> = Object.freeze({
  small: { cpu: 0.5, memoryBytes: 512 * MIB, timeoutMs: 15 * 60_000 },
  medium: { cpu: 1, memoryBytes: 2048 * MIB, timeoutMs: 60 * 60_000 },
  large: { cpu: 2, memoryBytes: 8192 * MIB, timeoutMs: 4 * 60 * 60_000 },
});

/** The class a workload gets when it names none. */
export const DEFAULT_RESOURCE_CLASS = 'small';

/** The resource classes in force: the built-in ones with the config's on top. */
export function resourceClassesFrom(config: Pick<RunnersSettings, 'resourceClasses'>): Readonly<Record<string, ResourceClassSetting>> {
  return Object.freeze({ ...DEFAULT_RESOURCE_CLASSES, ...config.resourceClasses });
}

/**
 * Looks up a class by name.
 * @throws {@link RunnerError} `TASK_INPUT_INVALID` (not retryable) naming the known classes.
 */
export function resolveResourceClass(
  classes: Readonly<Record<string, ResourceClassSetting>>,
  name: string | undefined,
  runner: string,
): ResourceClass {
  const wanted = name ?? DEFAULT_RESOURCE_CLASS;
  const found = Object.hasOwn(classes, wanted) ? classes[wanted] : undefined;
  if (!found) {
    throw new RunnerError(runner, `unknown resource class "${wanted}" (known: ${Object.keys(classes).join(', ')})`, {
      code: 'TASK_INPUT_INVALID',
      retryable: false,
    });
  }
  return { name: wanted, ...found };
}

/** CPU as a Kubernetes quantity: whole cores as is, fractions in millicores (`500m`). */
export function cpuQuantity(cpu: number): string {
  return Number.isInteger(cpu) ? String(cpu) : `${Math.round(cpu * 1000)}m`;
}

/** Memory as a Kubernetes quantity: `Mi` when whole mebibytes, bytes otherwise. */
export function memoryQuantity(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB}Mi` : String(bytes);
}
