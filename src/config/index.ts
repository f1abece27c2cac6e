/**
 * Maestro's settings: declared once each, in sections (`./sections/`), as TypeBox schemas that carry
 * their environment variable, description and default; the optional YAML file named by
 * `MAESTRO_CONFIG` uses their keys. {@link loadConfig} reads them once at start-up: environment text
 * → decoded value → checked by ajv against the setting's schema → defaults → one frozen
 * {@link Config}. Modules take only their section (`PolicySettings`, `StoreSettings`…); nothing else
 * reads `MAESTRO_*` variables.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors/index.js';
import { SECTIONS, type Config } from './sections/index.js';
import { SettingValueError, kindOf, type Section, type SettingSchema } from './setting.js';

export * from './sections/index.js';
export type { SettingsOf } from './setting.js';
export { settingsReference, settingsMarkdown, type SettingReference } from './reference.js';
export { temporalConnectOptions, hasTemporalCredentials, type TemporalConnectOptions, type TemporalTls } from './temporal-connection.js';
export { TOOLS_BIN, findTool, type FindToolOptions } from './find-tool.js';

/** The variable naming the optional YAML file of settings. */
export const CONFIG_FILE_ENV = 'MAESTRO_CONFIG';

/** The settings a config file or {@link extendConfig} may give, by key, before defaults are applied. */
export type ConfigInput = { -readonly [K in keyof Config]?: Config[K] };

/** One declared setting, found by its key. */
interface DeclaredSetting {
  /** The config-file key, e.g. `port`. */
  readonly key: string;
  readonly schema: SettingSchema;
}

/** Every declared setting by key, in section order. */
const DECLARED_SETTINGS: ReadonlyMap<string, DeclaredSetting> = new Map(
  SECTIONS.flatMap((section: Section) => Object.entries(section.schema.properties).map(([key, schema]) => [key, { key, schema: schema as SettingSchema }] as const)),
);

/** Former keys still read, to the setting they now name. */
const DEPRECATED_KEYS: ReadonlyMap<string, DeclaredSetting> = new Map(
  [...DECLARED_SETTINGS.values()].flatMap((declared) => (declared.schema.formerly ? [[declared.schema.formerly.key, declared] as const] : [])),
);

/** The environment variables read, current and former, with the key their value is kept under. */
const VARIABLES: readonly { env: string; key: string; declared: DeclaredSetting }[] = [...DECLARED_SETTINGS.values()].flatMap((declared) => [
  { env: declared.schema.env, key: declared.key, declared },
  ...(declared.schema.formerly ? [{ env: declared.schema.formerly.env, key: declared.schema.formerly.key, declared }] : []),
]);

const KNOWN_KEYS = [...DECLARED_SETTINGS.keys(), ...DEPRECATED_KEYS.keys()];

function declaredOf(key: string): DeclaredSetting | undefined {
  return DECLARED_SETTINGS.get(key) ?? DEPRECATED_KEYS.get(key);
}

const ajv = new Ajv({ strict: true });
// The keywords a declaration adds to its schema: information for the loader and the reference, not checks.
ajv.addVocabulary(['env', 'message', 'decode', 'path', 'secret', 'formerly', 'unset', 'defaultFrom', 'shownDefault']);
ajv.addFormat('url', { type: 'string', validate: (value: string) => URL.canParse(value) });
ajv.addFormat('host-port', { type: 'string', validate: isHostPort });

function isHostPort(value: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

const validators = new Map<string, ValidateFunction>();

function validatorOf(declared: DeclaredSetting): ValidateFunction {
  let validate = validators.get(declared.key);
  if (validate === undefined) {
    validate = ajv.compile(declared.schema);
    validators.set(declared.key, validate);
  }
  return validate;
}

/** The default decoding by schema kind: integers and booleans from text, strings trimmed, enum values lower-cased. */
function decode(schema: SettingSchema, raw: unknown): unknown {
  if (schema.decode) return schema.decode(raw);
  const trimmed = typeof raw === 'string' ? raw.trim() : raw;
  switch (kindOf(schema)) {
    case 'Integer':
      return typeof trimmed === 'string' && /^\d+$/.test(trimmed) ? Number(trimmed) : raw;
    case 'Boolean': {
      const text = typeof trimmed === 'string' ? trimmed.toLowerCase() : trimmed;
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : raw;
    }
    case 'Union':
      return typeof trimmed === 'string' ? trimmed.toLowerCase() : trimmed;
    default:
      return trimmed;
  }
}

/** What a value that fails its schema is told, after the variable's name. */
function messageOf(schema: SettingSchema): string {
  if (schema.message !== undefined) return schema.message;
  const { minimum, maximum, format, anyOf } = schema as { minimum?: number; maximum?: number; format?: string; anyOf?: { const?: unknown }[] };
  switch (kindOf(schema)) {
    case 'Integer':
      return `must be an integer from ${minimum ?? 0} to ${maximum ?? Number.MAX_SAFE_INTEGER}`;
    case 'Boolean':
      return 'must be true or false';
    case 'Union': {
      const names = (anyOf ?? []).map((option) => String(option.const));
      return `must be ${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}`;
    }
    case 'String':
      return format === 'url' ? 'must be a URL' : format === 'host-port' ? 'must be host:port' : 'must be a non-empty string';
    default:
      return 'has a value of the wrong shape';
  }
}

/** Decodes and checks one value, naming its source (`MAESTRO_PORT`, `maestro.yaml: port`) in the error. */
function readSetting(declared: DeclaredSetting, raw: unknown, source: string, baseDir: string): unknown {
  const { schema } = declared;
  try {
    const value = decode(schema, raw);
    if (!validatorOf(declared)(value)) throw new SettingValueError(messageOf(schema));
    return schema.path && typeof value === 'string' ? resolve(baseDir, value) : value;
  } catch (error) {
    if (!(error instanceof SettingValueError)) throw error;
    const got = schema.secret ? '' : ` (got ${JSON.stringify(raw)})`;
    throw new ConfigError(`${source} ${error.message}${got}`, { details: { setting: source } });
  }
}

/** Reads the `MAESTRO_CONFIG` file: a YAML mapping whose keys are setting keys. */
function readConfigFile(file: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${CONFIG_FILE_ENV}=${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(`${CONFIG_FILE_ENV}=${file} must be a YAML mapping of settings`);
  }
  const input: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(document)) {
    const declared = declaredOf(key);
    if (declared === undefined) throw new ConfigError(`${CONFIG_FILE_ENV}=${file}: unknown setting "${key}" (known: ${KNOWN_KEYS.join(', ')})`);
    input[key] = readSetting(declared, raw, `${file}: ${key}`, dirname(file));
  }
  return input;
}

/** Shows the config with secret settings replaced, for logs and `JSON.stringify`. */
function redacted(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, DECLARED_SETTINGS.get(key)?.schema.secret && value !== undefined ? '[redacted]' : value]));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A setting's value from the checked input: its own key, else its former key (both set must say the
 * same), else its default.
 */
function valueOf(declared: DeclaredSetting, input: Readonly<Record<string, unknown>>, loaded: Readonly<Record<string, unknown>>, cwd: string): unknown {
  const { schema } = declared;
  const value = input[declared.key];
  const former = schema.formerly;
  if (former !== undefined && input[former.key] !== undefined) {
    if (value !== undefined && !(former.same ?? sameJson)(value, input[former.key])) {
      throw new ConfigError(`${schema.env} and its deprecated name ${former.env} are both set, to different values: keep ${schema.env} only`, {
        details: { setting: former.env },
      });
    }
    return value ?? input[former.key];
  }
  if (value !== undefined) return value;
  if (schema.defaultFrom) return schema.defaultFrom(loaded, cwd);
  return schema.default === undefined ? undefined : Object.freeze(structuredClone(schema.default));
}

/** Applies defaults in section order, freezes, and attaches a non-enumerable `toJSON` that redacts secrets. */
function finish(input: Readonly<Record<string, unknown>>, cwd: string): Config {
  const config: Record<string, unknown> = {};
  for (const declared of DECLARED_SETTINGS.values()) {
    const value = valueOf(declared, input, config, cwd);
    if (value !== undefined) config[declared.key] = value;
  }
  Object.defineProperty(config, 'toJSON', { value: () => redacted(config), enumerable: false });
  return Object.freeze(config) as Config;
}

/**
 * Reads Maestro's settings once, at start-up: the `MAESTRO_CONFIG` YAML file if set (keys are the
 * setting keys; relative paths are relative to the file), then the environment variables of the
 * declared settings, which win. Empty variables count as unset. Relative paths in the environment
 * are relative to the working directory.
 *
 * @throws {ConfigError} `CONFIG_INVALID`, naming the variable or file key that is wrong.
 * @example
 * const config = loadConfig();
 * const pdp = await createPdp(config); // takes PolicySettings: the policy section only
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cwd = process.cwd();
  const file = env[CONFIG_FILE_ENV]?.trim();
  const input = file ? readConfigFile(resolve(cwd, file)) : {};
  for (const { env: name, key, declared } of VARIABLES) {
    const raw = env[name];
    if (raw !== undefined && raw.trim() !== '') input[key] = readSetting(declared, raw, name, cwd);
  }
  return finish(input, cwd);
}

/**
 * A copy of `config` with `changes` applied and checked like the loaded values (for example the
 * address of a dev server started after the config was loaded, or a test's own task queue). A
 * computed default (`artifactDir`) follows the settings it is computed from only if it was still
 * the default.
 *
 * @throws {ConfigError} `CONFIG_INVALID` if a change is not a valid value.
 */
export function extendConfig(config: Config, changes: ConfigInput): Config {
  const cwd = process.cwd();
  const input: Record<string, unknown> = {};
  const earlier: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const schema = DECLARED_SETTINGS.get(key)?.schema;
    if (!schema?.defaultFrom || schema.defaultFrom(earlier, cwd) !== value) input[key] = value;
    earlier[key] = value;
  }
  for (const [key, raw] of Object.entries(changes)) {
    const declared = declaredOf(key);
    if (declared === undefined) throw new ConfigError(`unknown setting "${key}" (known: ${KNOWN_KEYS.join(', ')})`);
    if (raw !== undefined) input[key] = readSetting(declared, raw, key, cwd);
  }
  return finish(input, cwd);
}
