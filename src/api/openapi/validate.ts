/**
 * Request (and, for tests, response) validation against the schemas of `contracts/openapi.yaml`,
 * compiled with ajv for JSON Schema 2020-12 — the dialect of OpenAPI 3.1.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { MaestroError } from '../../errors/index.js';
import { openApiDocument, type OpenApiDocument, type Operation, type Schema } from './document.js';

const COMPONENTS_ID = 'maestro-openapi-components';

/** OpenAPI's `#/components/schemas/X` refs, pointed at the components registered with ajv. */
function retarget(schema: Schema): Schema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${COMPONENTS_ID}#/$defs/`)) as Schema;
}

function createAjv(document: OpenApiDocument, coerceTypes: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: true, coerceTypes });
  addFormats.default(ajv);
  ajv.addSchema(retarget({ $id: COMPONENTS_ID, $defs: document.components.schemas }));
  return ajv;
}

/** One problem with a request: where (`body.priority`, `query.limit`) and what. */
export interface RequestIssue {
  path: string;
  message: string;
}

function issues(location: string, errors: ErrorObject[] | null | undefined): RequestIssue[] {
  return (errors ?? []).map((error) => {
    const pointer = error.instancePath.split('/').filter(Boolean).join('.');
    const missing = error.keyword === 'required' ? String((error.params as { missingProperty: string }).missingProperty) : undefined;
    const extra = error.keyword === 'additionalProperties' ? String((error.params as { additionalProperty: string }).additionalProperty) : undefined;
    const path = [location, pointer, missing ?? extra].filter(Boolean).join('.');
    const message = extra !== undefined ? 'is not a known property' : missing !== undefined ? 'is required' : (error.message ?? 'is invalid');
    return { path, message };
  });
}

/** Validates the parts of a request; each returns the value with defaults applied (and query text coerced). */
export interface RequestValidator {
  /** @throws MaestroError `BAD_REQUEST` listing every problem. */
  params(path: Record<string, string>, query: Record<string, unknown>): { path: Record<string, unknown>; query: Record<string, unknown> };
  /**
   * @throws MaestroError `UNSUPPORTED_MEDIA_TYPE` for a media type the operation does not take,
   *   `BAD_REQUEST` for a body that does not match its schema.
   */
  body(mediaType: string | undefined, body: unknown): unknown;
}

function objectSchema(parameters: Operation['parameters'], location: 'path' | 'query'): Schema {
  const own = parameters.filter((p) => p.in === location);
  return {
    type: 'object',
    additionalProperties: location === 'path',
    required: own.filter((p) => p.required).map((p) => p.name),
    properties: Object.fromEntries(own.map((p) => [p.name, retarget(p.schema)])),
  };
}

function fail(issuesFound: RequestIssue[]): never {
  throw new MaestroError('BAD_REQUEST', issuesFound.map((i) => `${i.path} ${i.message}`).join('; '), { details: { errors: issuesFound } });
}

/** Compiles the validators of every operation, once. */
export function createRequestValidators(operationList: readonly Operation[], document = openApiDocument()): Map<string, RequestValidator> {
  const paramsAjv = createAjv(document, true);
  const bodyAjv = createAjv(document, false);
  const validators = new Map<string, RequestValidator>();
  for (const operation of operationList) {
    const pathCheck = paramsAjv.compile(objectSchema(operation.parameters, 'path'));
    const queryCheck = paramsAjv.compile(objectSchema(operation.parameters, 'query'));
    const bodyChecks = new Map<string, ValidateFunction>(
      Object.entries(operation.body?.content ?? {}).map(([type, schema]) => [type, bodyAjv.compile(retarget(schema))]),
    );
    validators.set(operation.operationId, {
      params(path, query) {
        const pathValue: Record<string, unknown> = { ...path };
        const queryValue: Record<string, unknown> = { ...query };
        const found = [
          ...(pathCheck(pathValue) ? [] : issues('path', pathCheck.errors)),
          ...(queryCheck(queryValue) ? [] : issues('query', queryCheck.errors)),
        ];
        if (found.length > 0) fail(found);
        return { path: pathValue, query: queryValue };
      },
      body(mediaType, body) {
        if (!operation.body) return undefined;
        if (mediaType === undefined) {
          if (operation.body.required) throw new MaestroError('BAD_REQUEST', `a request body is required (${[...bodyChecks.keys()].join(' or ')})`);
          return undefined;
        }
        const check = bodyChecks.get(mediaType);
        if (!check) {
          throw new MaestroError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${mediaType} is not accepted here; send ${[...bodyChecks.keys()].join(' or ')}`);
        }
        if (!check(body)) fail(issues('body', check.errors));
        return body;
      },
    });
  }
  return validators;
}

/** The response validators compiled so far, per document. */
const responseValidators = new WeakMap<OpenApiDocument, { ajv: Ajv2020; validators: Map<string, ValidateFunction> }>();

/**
 * A validator of one response of an operation (status, media type), for contract tests.
 * @returns undefined when the document describes no such response.
 */
export function responseValidator(operation: Operation, status: number, mediaType: string, document = openApiDocument()): ValidateFunction | undefined {
  const schema = operation.responses[String(status)]?.[mediaType];
  if (!schema) return undefined;
  // Compiled once per response: a fresh Ajv per call cost ~60 ms of the event loop, which the
  // API tests' polling (every 100 ms) turned into most of their process's CPU time.
  let compiled = responseValidators.get(document);
  if (!compiled) {
    compiled = { ajv: createAjv(document, false), validators: new Map() };
    responseValidators.set(document, compiled);
  }
  const key = `${operation.operationId} ${status} ${mediaType}`;
  let validate = compiled.validators.get(key);
  if (!validate) {
    validate = compiled.ajv.compile(retarget(schema));
    compiled.validators.set(key, validate);
  }
  return validate;
}
