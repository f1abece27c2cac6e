/**
 * `contracts/openapi.yaml`, loaded once: the operations (method, path, roles) the router serves
 * and the schemas requests are validated against.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { MaestroError } from '../../errors/index.js';

/** Path of the API description. */
export const OPENAPI_FILE = fileURLToPath(new URL('../../../contracts/openapi.yaml', import.meta.url));

/** A JSON Schema inside the document. */
export type Schema = Record<string, unknown>;

/** A parameter of an operation, `$ref`s resolved. */
export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}

/** One operation of the document, as the router needs it. */
export interface Operation {
  operationId: string;
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template, `/runs/{runId}`. */
  path: string;
  /** Express path, `/runs/:runId`. */
  routePath: string;
  parameters: Parameter[];
  /** Request body schemas by media type; undefined when the operation takes no body. */
  body?: { required: boolean; content: Record<string, Schema> };
  /** `security: []`: served without authentication. */
  open: boolean;
  /** `x-maestro-roles`: the caller needs one of them (admin holds all); empty: any principal. */
  roles: string[];
  /** `x-maestro-public-when`: the config flag that makes this operation open. */
  publicWhen?: string;
  /**
   * `x-maestro-raw-body`: the handler gets the body's bytes as sent (`rawBytes`), unparsed and
   * unvalidated — a webhook verifies its signature over exactly these bytes.
   */
  rawBody: boolean;
  /** Response schemas by status and media type. */
  responses: Record<string, Record<string, Schema>>;
}

/** The parsed document. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Schema>; parameters: Record<string, Parameter>; responses: Record<string, { content: Record<string, { schema: Schema }> }> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

let loaded: OpenApiDocument | undefined;

/** The document, read on first use. */
export function openApiDocument(): OpenApiDocument {
  loaded ??= parseYaml(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
  return loaded;
}

function resolveRef<T>(document: OpenApiDocument, value: unknown): T {
  if (value !== null && typeof value === 'object' && '$ref' in value && typeof value.$ref === 'string') {
    const [, section, name] = /^#\/components\/(parameters|responses)\/(.+)$/.exec(value.$ref) ?? [];
    const target = section === 'parameters' ? document.components.parameters[name ?? ''] : document.components.responses[name ?? ''];
    if (!target) throw new MaestroError('INTERNAL', `openapi.yaml: unresolved ${value.$ref}`);
    return target as T;
  }
  return value as T;
}

function mediaSchemas(content: unknown): Record<string, Schema> {
  const schemas: Record<string, Schema> = {};
  for (const [type, media] of Object.entries((content ?? {}) as Record<string, { schema?: Schema }>)) schemas[type] = media.schema ?? {};
  return schemas;
}

/** Every operation of the document. */
export function operations(document: OpenApiDocument = openApiDocument()): Operation[] {
  const result: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const requestBody = op.requestBody as { required?: boolean; content: unknown } | undefined;
      const responses: Operation['responses'] = {};
      for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, unknown>)) {
        responses[status] = mediaSchemas(resolveRef<{ content?: unknown }>(document, response).content);
      }
      result.push({
        operationId: String(op.operationId),
        method,
        path,
        routePath: path.replace(/\{([^}]+)\}/g, ':$1'),
        parameters: ((op.parameters ?? []) as unknown[]).map((p) => resolveRef<Parameter>(document, p)),
        ...(requestBody ? { body: { required: requestBody.required ?? false, content: mediaSchemas(requestBody.content) } } : {}),
        open: Array.isArray(op.security) && op.security.length === 0,
        roles: (op['x-maestro-roles'] as string[] | undefined) ?? [],
        rawBody: op['x-maestro-raw-body'] === true,
        ...(typeof op['x-maestro-public-when'] === 'string' ? { publicWhen: op['x-maestro-public-when'] } : {}),
        responses,
      });
    }
  }
  return result;
}
