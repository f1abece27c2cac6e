/**
 * How a setting is declared: once, as a TypeBox schema that also carries its environment variable,
 * description and default. The schema is the JSON Schema ajv checks the loaded value against, and
 * `Static<>` of a section's schema is the section's TypeScript type, so nothing is written twice.
 * The loader ({@link loadConfig}) and the settings reference read the declarations; modules read
 * only the typed values of their section.
 */
import { CloneType, Kind, OptionalKind, Type, type Static, type TObject, type TOptional, type TProperties, type TSchema } from '@sinclair/typebox';

/** What a setting declares besides its schema. */
export interface SettingInfo {
  /** The environment variable, e.g. `MAESTRO_PORT`. The config file uses the setting's key instead. */
  readonly env: string;
  /** What the setting does, one or two sentences, for the settings reference. */
  readonly description: string;
  /**
   * What the value says after the variable's name when it does not match the schema, e.g.
   * `must be embedded or remote`.
   * @default derived from the schema: "must be an integer from 0 to 65535", "must be true or false", "must be a URL"…
   */
  readonly message?: string;
  /**
   * Turns the variable's text, or the config file's value, into the schema's shape (split a list,
   * parse JSON…), throwing {@link SettingValueError} with a precise message for what the schema
   * cannot say (which entry is wrong).
   * @default by schema kind: integers and booleans parsed from text, strings trimmed, enum values lower-cased
   */
  readonly decode?: (raw: unknown) => unknown;
  /** A file or folder: resolved against the config file's folder, or the working directory. */
  readonly path?: true;
  /** Never shown: replaced in `JSON.stringify(config)` and never quoted in an error. */
  readonly secret?: true;
  /**
   * A former name still read. Both set to different values refuses to start rather than guess which
   * one the operator meant; the same value under both is fine (an operator moving to the new name).
   */
  readonly formerly?: {
    /** The former environment variable. */
    readonly env: string;
    /** The former config-file key. */
    readonly key: string;
    /** Whether two values say the same. @default equal as JSON */
    readonly same?: (a: unknown, b: unknown) => boolean;
  };
}

/** A setting with a value after loading: a fixed default, or one computed from settings read before it. */
export type DefaultedSettingInfo<T> = SettingInfo &
  (
    | {
        /** The value when the setting is unset. */
        readonly default: T;
        readonly defaultFrom?: never;
      }
    | {
        /**
         * The value when unset, from the settings loaded so far (earlier sections and earlier keys of
         * this one) and the working directory, e.g. `<dataDir>/artifacts`.
         */
        readonly defaultFrom: (settings: Readonly<Record<string, unknown>>, cwd: string) => T;
        /** How the reference shows the computed default, e.g. `<dataDir>/artifacts`. */
        readonly shownDefault: string;
        readonly default?: never;
      }
  );

/** A setting that may stay unset: its module decides what unset means. */
export interface OptionalSettingInfo extends SettingInfo {
  /** What unset means, for the reference, e.g. `500` or `closed in every namespace`. */
  readonly unset?: string;
}

/** A declared setting's schema: the TypeBox schema with its {@link SettingInfo}. */
export type SettingSchema = TSchema &
  SettingInfo & {
    readonly defaultFrom?: (settings: Readonly<Record<string, unknown>>, cwd: string) => unknown;
    readonly shownDefault?: string;
    readonly unset?: string;
  };

/**
 * A setting that always has a value after loading (a default or a computed default).
 *
 * @example setting(Type.Integer({ minimum: 0, maximum: 65535 }), { env: 'MAESTRO_PORT', default: 8080, description: "Port of Maestro's HTTP API." })
 */
export function setting<S extends TSchema>(schema: S, info: DefaultedSettingInfo<Static<S>>): S {
  return CloneType(schema, info);
}

/** A setting that may stay unset. */
export function optional<S extends TSchema>(schema: S, info: OptionalSettingInfo): TOptional<S> {
  // TypeBox types Optional<S> conditionally (S may already be optional); a declared setting is not.
  return Type.Optional(CloneType(schema, info)) as TOptional<S>;
}

/** A group of settings one module (or a few) receives. */
export interface Section<P extends TProperties = TProperties> {
  /** Name in the settings reference, e.g. `policy`. */
  readonly name: string;
  /** What the section configures. */
  readonly description: string;
  /** The section's schema: one property per setting, keyed by the setting's config-file key. */
  readonly schema: TObject<P>;
}

/** Declares a section of settings; its type is `SettingsOf<typeof section>`. */
export function section<P extends TProperties>(name: string, description: string, settings: P): Section<P> {
  return Object.freeze({ name, description, schema: Type.Object(settings, { additionalProperties: false }) });
}

/** `T` with every object and array read-only, at every depth: loaded settings are frozen. */
export type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends Buffer
    ? T
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** The loaded values of a section: its schema's static type, read-only. */
export type SettingsOf<S extends Section> = DeepReadonly<Static<S['schema']>>;

/** Whether a declared setting may stay unset. */
export function isOptionalSetting(schema: TSchema): boolean {
  return (schema as { [OptionalKind]?: string })[OptionalKind] === 'Optional';
}

/** The TypeBox kind of a schema (`Integer`, `String`, `Union`…). */
export function kindOf(schema: TSchema): string {
  return (schema as { [Kind]: string })[Kind];
}

/**
 * Thrown by a decoder for a value it cannot accept; the loader turns it into `CONFIG_INVALID`
 * naming where the value came from (`MAESTRO_PORT`, `maestro.yaml: port`).
 */
export class SettingValueError extends Error {}
