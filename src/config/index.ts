/**
 * Maestro's settings: one schema ({@link CONFIG_SCHEMA}) for the `MAESTRO_*` environment variables
 * and the optional YAML file named by `MAESTRO_CONFIG`, parsed once at start-up by
 * {@link loadConfig}. Functions take the resulting {@link Config} as a parameter; nothing else reads
 * `MAESTRO_*` variables.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors/index.js';

/** Log levels, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where clients look for Temporal when {@link Config.temporalAddress} is unset. */
export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';

/** Maestro's resolved settings. Paths are absolute. */
export interface Config {
  /**
   * Temporal frontend `host:port` (`TEMPORAL_ADDRESS`). Unset: `maestro dev` starts a Temporal dev
   * server, and clients use {@link DEFAULT_TEMPORAL_ADDRESS}.
   * @default undefined
   */
  readonly temporalAddress?: string;
  /**
   * Temporal namespace runs live in (`MAESTRO_TEMPORAL_NAMESPACE`).
   * @default 'default'
   */
  readonly temporalNamespace: string;
  /**
   * Task queue the worker polls and runs are started on (`MAESTRO_TASK_QUEUE`).
   * @default 'maestro'
   */
  readonly taskQueue: string;
  /**
   * Folder for local state: the dev server's SQLite file, the registry, artifacts (`MAESTRO_DATA_DIR`).
   * @default '<cwd>/.maestro'
   */
  readonly dataDir: string;
  /**
   * Filesystem artifact store for large task outputs (`MAESTRO_ARTIFACT_DIR`).
   * @default '<dataDir>/artifacts'
   */
  readonly artifactDir: string;
  /**
   * Temporal CLI binary (`MAESTRO_TEMPORAL_BIN`). Unset: `temporal` on PATH, then `.tools/bin/temporal`.
   * @default undefined
   */
  readonly temporalBin?: string;
  /**
   * Port of Maestro's HTTP API (`MAESTRO_PORT`).
   * @default 8080
   */
  readonly port: number;
  /**
   * Port of the dev server's Temporal Web UI (`MAESTRO_TEMPORAL_UI_PORT`).
   * @default 8233
   */
  readonly uiPort: number;
  /**
   * Task outputs larger than this many bytes go to the artifact store and travel by reference
   * (`MAESTRO_LARGE_OUTPUT_BYTES`).
   * @default 262144
   */
  readonly largeOutputBytes: number;
  /**
   * Log level (`MAESTRO_LOG_LEVEL`): debug | info | warn | error.
   * @default 'info'
   */
  readonly logLevel: LogLevel;
}

/** The settings a config file or {@link extendConfig} may give, before defaults are applied. */
export type ConfigInput = { -readonly [K in keyof Config]?: Config[K] };

/** How one setting is read, checked and shown. */
interface FieldSpec {
  /** The environment variable. */
  env: string;
  /** Checks a raw value (a string from the environment, any YAML value from the file); returns it typed. */
  parse: (raw: unknown) => string | number;
  /** A path, made absolute when loaded. */
  path?: boolean;
  /** Never shown by `JSON.stringify(config)`. */
  secret?: boolean;
}

/** Thrown by a field parser; {@link loadConfig} adds where the value came from. */
class FieldError extends Error {}

function text(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new FieldError('must be a non-empty string');
  return raw.trim();
}

function integer(min: number, max: number) {
  return (raw: unknown): number => {
    const value = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new FieldError(`must be an integer from ${min} to ${max}`);
    }
    return value;
  };
}

function hostPort(raw: unknown): string {
  const value = text(raw);
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new FieldError('must be host:port');
  return value;
}

function logLevel(raw: unknown): LogLevel {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (!level) throw new FieldError(`must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/**
 * The one schema of Maestro's settings: for each {@link Config} field, its environment variable,
 * its check, and whether it is a path or a secret. Defaults live in {@link loadConfig}.
 */
export const CONFIG_SCHEMA = {
  temporalAddress: { env: 'TEMPORAL_ADDRESS', parse: hostPort },
  temporalNamespace: { env: 'MAESTRO_TEMPORAL_NAMESPACE', parse: text },
  taskQueue: { env: 'MAESTRO_TASK_QUEUE', parse: text },
  dataDir: { env: 'MAESTRO_DATA_DIR', parse: text, path: true },
  artifactDir: { env: 'MAESTRO_ARTIFACT_DIR', parse: text, path: true },
  temporalBin: { env: 'MAESTRO_TEMPORAL_BIN', parse: text, path: true },
  port: { env: 'MAESTRO_PORT', parse: integer(0, 65535) },
  uiPort: { env: 'MAESTRO_TEMPORAL_UI_PORT', parse: integer(0, 65535) },
  largeOutputBytes: { env: 'MAESTRO_LARGE_OUTPUT_BYTES', parse: integer(1, 2 ** 31 - 1) },
  logLevel: { env: 'MAESTRO_LOG_LEVEL', parse: logLevel },
} as const satisfies { [K in keyof Config]-?: FieldSpec };

type FieldName = keyof typeof CONFIG_SCHEMA;
const FIELD_NAMES = Object.keys(CONFIG_SCHEMA) as FieldName[];

function isFieldName(key: string): key is FieldName {
  return Object.hasOwn(CONFIG_SCHEMA, key);
}

/** Checks one value, naming its source (`MAESTRO_PORT`, `maestro.yaml: port`) in the error. */
function parseField(name: FieldName, raw: unknown, source: string, baseDir: string): string | number {
  const spec: FieldSpec = CONFIG_SCHEMA[name];
  try {
    const value = spec.parse(raw);
    return spec.path && typeof value === 'string' ? resolve(baseDir, value) : value;
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    throw new ConfigError(`${source} ${error.message} (got ${JSON.stringify(raw)})`, { details: { setting: source } });
  }
}

/** Reads the `MAESTRO_CONFIG` file: a YAML mapping whose keys are {@link Config} field names. */
function readConfigFile(file: string): ConfigInput {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`MAESTRO_CONFIG=${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(`MAESTRO_CONFIG=${file} must be a YAML mapping of settings`);
  }
  const input: Record<string, string | number> = {};
  for (const [key, raw] of Object.entries(document)) {
    if (!isFieldName(key)) {
      throw new ConfigError(`MAESTRO_CONFIG=${file}: unknown setting "${key}" (known: ${FIELD_NAMES.join(', ')})`);
    }
    input[key] = parseField(key, raw, `${file}: ${key}`, dirname(file));
  }
  return input as ConfigInput;
}

/** Shows the config with secret fields replaced, for logs and `JSON.stringify`. */
function redacted(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      const spec: FieldSpec | undefined = isFieldName(key) ? CONFIG_SCHEMA[key] : undefined;
      return [key, spec?.secret && value !== undefined ? '[redacted]' : value];
    }),
  );
}

/** Applies defaults, freezes, and attaches a non-enumerable `toJSON` that redacts secrets. */
function finish(input: ConfigInput, cwd: string): Config {
  const dataDir = input.dataDir ?? resolve(cwd, '.maestro');
  const config: Config = {
    ...(input.temporalAddress === undefined ? {} : { temporalAddress: input.temporalAddress }),
    temporalNamespace: input.temporalNamespace ?? 'default',
    taskQueue: input.taskQueue ?? 'maestro',
    dataDir,
    artifactDir: input.artifactDir ?? resolve(dataDir, 'artifacts'),
    ...(input.temporalBin === undefined ? {} : { temporalBin: input.temporalBin }),
    port: input.port ?? 8080,
    uiPort: input.uiPort ?? 8233,
    largeOutputBytes: input.largeOutputBytes ?? 262_144,
    logLevel: input.logLevel ?? 'info',
  };
  Object.defineProperty(config, 'toJSON', { value: () => redacted(config), enumerable: false });
  return Object.freeze(config);
}

/**
 * Reads Maestro's settings once, at start-up: the `MAESTRO_CONFIG` YAML file if set (keys are the
 * {@link Config} field names; relative paths are relative to the file), then the environment
 * variables of {@link CONFIG_SCHEMA}, which win. Empty variables count as unset. Relative paths in
 * the environment are relative to the working directory.
 *
 * @throws {ConfigError} `CONFIG_INVALID`, naming the variable or file key that is wrong.
 * @example
 * const config = loadConfig();
 * const address = config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS;
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cwd = process.cwd();
  const file = env.MAESTRO_CONFIG?.trim();
  const input: Record<string, string | number> = file ? { ...readConfigFile(resolve(cwd, file)) } : {};
  for (const name of FIELD_NAMES) {
    const raw = env[CONFIG_SCHEMA[name].env];
    if (raw !== undefined && raw.trim() !== '') input[name] = parseField(name, raw, CONFIG_SCHEMA[name].env, cwd);
  }
  return finish(input as ConfigInput, cwd);
}

/**
 * A copy of `config` with `changes` applied and checked like the loaded values (for example the
 * address of a dev server started after the config was loaded, or a test's own task queue).
 * `artifactDir` follows a changed `dataDir` only if it was still the default.
 *
 * @throws {ConfigError} `CONFIG_INVALID` if a change is not a valid value.
 */
export function extendConfig(config: Config, changes: ConfigInput): Config {
  const input: Record<string, string | number> = Object.fromEntries(
    Object.entries(config).filter(([key]) => !(key === 'artifactDir' && config.artifactDir === resolve(config.dataDir, 'artifacts'))),
  );
  for (const [key, raw] of Object.entries(changes)) {
    if (!isFieldName(key)) throw new ConfigError(`unknown setting "${key}" (known: ${FIELD_NAMES.join(', ')})`);
    if (raw !== undefined) input[key] = parseField(key, raw, key, process.cwd());
  }
  return finish(input as ConfigInput, process.cwd());
}
