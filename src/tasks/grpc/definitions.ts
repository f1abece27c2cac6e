import { createHash } from 'node:crypto';
import { fromJSON, loadSync, type MethodDefinition, type Options, type PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { invalidInput } from '../shared/failures.js';

/** How messages map to JSON: field names as written, 64-bit integers and enums as strings, defaults filled in. */
export const LOADER_OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** Parsed definitions by source hash or file path: parsing is the expensive part of a call. */
const cache = new Map<string, PackageDefinition>();

/**
 * The package definition of an inline `.proto` source or a `.proto` file (imports resolved beside
 * it), cached for the worker's life.
 *
 * @throws TaskError `TASK_INPUT_INVALID` when the source does not parse or the file cannot be read.
 */
export function packageDefinition(source: { protoSource?: string; protoFile?: string }): PackageDefinition {
  const key = source.protoSource !== undefined ? `src:${createHash('sha256').update(source.protoSource).digest('hex')}` : `file:${source.protoFile}`;
  const cached = cache.get(key);
  if (cached) return cached;
  let definition: PackageDefinition;
  try {
    definition =
      source.protoSource !== undefined
        ? fromJSON(protobuf.parse(source.protoSource, { keepCase: true }).root.toJSON(), LOADER_OPTIONS)
        : loadSync(source.protoFile ?? '', LOADER_OPTIONS);
  } catch (error) {
    // protobufjs and proto-loader report a bad source or a missing file only by throwing.
    if (!(error instanceof Error)) throw error;
    throw invalidInput(source.protoSource !== undefined ? 'protoSource' : 'protoFile', error.message, error);
  }
  cache.set(key, definition);
  return definition;
}

/**
 * The unary method `service`/`method` of a definition.
 *
 * @throws TaskError `TASK_INPUT_INVALID` naming what exists when the service or method is unknown
 * or the method streams.
 */
export function unaryMethod(definition: PackageDefinition, service: string, method: string): MethodDefinition<object, object> {
  const entry = definition[service];
  if (!entry || 'format' in entry) {
    // Entries with a `format` are message and enum types; services are method maps.
    const services = Object.entries(definition)
      .filter(([, value]) => !('format' in value))
      .map(([name]) => name);
    throw invalidInput('service', `no service "${service}" in the proto; services: ${services.join(', ') || 'none'}`);
  }
  const methods = entry as Record<string, MethodDefinition<object, object>>;
  const found = methods[method];
  if (!found) throw invalidInput('method', `service ${service} has no method "${method}"; methods: ${Object.keys(methods).join(', ')}`);
  if (found.requestStream || found.responseStream) throw invalidInput('method', `${service}/${method} streams; grpc.call makes unary calls only`);
  return found;
}
