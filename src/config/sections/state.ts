/**
 * Settings of where Maestro keeps state (the data folder, artifacts, the registry database), of
 * logs, and of what tasks may use (file roots, task modules, the size of inline outputs).
 */
import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { duration, pathList } from '../decode.js';
import { optional, section, setting, type SettingsOf } from '../setting.js';

const text = Type.String({ minLength: 1 });

/** The local data folder, the artifact store and the registry database. */
export const storeSection = section('store', 'Where Maestro keeps its state: the local data folder, the artifact store and the registry database.', {
  dataDir: setting(text, {
    env: 'MAESTRO_DATA_DIR',
    path: true,
    defaultFrom: (_, cwd) => resolve(cwd, '.maestro'),
    shownDefault: '<cwd>/.maestro',
    description: "Folder for local state: the dev server's SQLite file, the registry, artifacts, dev keys.",
  }),
  artifactDir: setting(text, {
    env: 'MAESTRO_ARTIFACT_DIR',
    path: true,
    defaultFrom: (settings) => resolve(String(settings.dataDir), 'artifacts'),
    shownDefault: '<dataDir>/artifacts',
    description: 'Filesystem artifact store for large task outputs.',
  }),
  databaseUrl: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_DATABASE_URL',
    secret: true,
    unset: 'SQLite in `<dataDir>/registry.db`',
    description: "PostgreSQL URL (`postgres://…`) of the control plane's store; never shown.",
  }),
});

/** Where state lives (see {@link storeSection}). */
export type StoreSettings = SettingsOf<typeof storeSection>;

/** Log levels, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The process log and the task log's retention. */
export const logsSection = section('logs', "The process log's level and how long task log lines are kept.", {
  logLevel: setting(Type.Union(LOG_LEVELS.map((level) => Type.Literal(level))), {
    env: 'MAESTRO_LOG_LEVEL',
    default: 'info',
    message: `must be one of ${LOG_LEVELS.join(', ')}`,
    description: 'Log level: debug | info | warn | error.',
  }),
  taskLogRetentionMs: optional(Type.Integer({ minimum: 1 }), {
    env: 'MAESTRO_TASK_LOG_RETENTION',
    decode: duration,
    unset: 'kept until pruned by hand',
    description: 'Task log lines older than this (a duration such as `30d`) are deleted by the API process, once an hour; `maestro logs prune --older-than` does it by hand.',
  }),
});

/** Logs (see {@link logsSection}). */
export type LogsSettings = SettingsOf<typeof logsSection>;

/** What tasks may use. */
export const tasksSection = section('tasks', 'What tasks may use: your own task modules, the folders file tasks may touch, the size of inline outputs.', {
  taskModules: optional(Type.Array(text, { minItems: 1 }), {
    env: 'MAESTRO_TASK_MODULES',
    decode: pathList('module'),
    unset: 'the built-in tasks only',
    description: 'Modules of your own tasks the worker adds to the catalog at start (separated by `:`; in the file, a list): each exports `defineTask` results (default or named). Relative paths are relative to the working directory.',
  }),
  fileRoots: setting(Type.Array(text), {
    env: 'MAESTRO_FILE_ROOTS',
    decode: pathList('folder'),
    default: [],
    description: 'Folders the file tasks (`ops/disclosure.package`) may read from and write to (separated by `:`; in the file, a list); none: file tasks refuse every path. Relative paths are relative to the working directory.',
  }),
  largeOutputBytes: setting(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }), {
    env: 'MAESTRO_LARGE_OUTPUT_BYTES',
    default: 262_144,
    description: 'Task outputs larger than this many bytes go to the artifact store and travel by reference.',
  }),
});

/** What tasks may use (see {@link tasksSection}). */
export type TasksSettings = SettingsOf<typeof tasksSection>;
