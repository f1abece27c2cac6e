/**
 * `contracts/openapi.yaml`: the operations the API serves and the validation of their requests.
 */
export { OPENAPI_FILE, openApiDocument, operations, type OpenApiDocument, type Operation, type Parameter, type Schema } from './document.js';
export { createRequestValidators, responseValidator, type RequestIssue, type RequestValidator } from './validate.js';
