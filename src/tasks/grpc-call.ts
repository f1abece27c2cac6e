import { isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { credentials, Client, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { parseDuration } from '../ir/index.js';
import { defineTask, TaskError, type TaskContext } from '../sdk/index.js';
import { packageDefinition, unaryMethod } from './grpc/definitions.js';
import { reflectedDefinition } from './grpc/reflection.js';
import { isTraceHeader, serverAttributes, withClientSpan } from '../telemetry/index.js';
import { durationSchema } from './schemas.js';
import { invalidInput } from './shared/failures.js';
import { stringMapSchema } from './shared/schemas.js';

/** Input of `tasks/grpc.call`. */
export interface GrpcCallInput {
  /** `host:port`. */
  address: string;
  /** The service's `.proto` source, inline. @default none — server reflection, unless `protoFile` */
  protoSource?: string;
  /** Path of the service's `.proto` file on the worker. @default none — server reflection, unless `protoSource` */
  protoFile?: string;
  /** Fully qualified service name, e.g. `helloworld.Greeter`. */
  service: string;
  method: string;
  /** The request message as JSON (proto field names). @default {} */
  request?: Record<string, unknown>;
  metadata?: Record<string, string>;
  /** @default false (plaintext) */
  tls?: boolean;
  /** The call's deadline. @default '30s' */
  timeout?: string;
}

/** Output of `tasks/grpc.call`. */
export interface GrpcCallOutput {
  /** The response message as JSON (64-bit integers and enums as strings). */
  response: Record<string, unknown>;
}

/** Status codes a retry may cure. */
const RETRYABLE: ReadonlySet<status> = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED, status.INTERNAL, status.UNKNOWN]);

/**
 * `tasks/grpc.call`: one unary gRPC call (@grpc/grpc-js), the service described by an inline
 * `.proto` source, a `.proto` file, or, with neither, the server's reflection service
 * (`grpc.reflection.v1`, else `v1alpha`; asked on the same channel before each call). The
 * deadline `timeout` covers reflection and call; cancelling the run cancels both. Failures carry the gRPC status: UNAVAILABLE is `PEER_UNAVAILABLE`, DEADLINE_EXCEEDED is
 * `TASK_TIMEOUT` (both retryable); INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, UNIMPLEMENTED …
 * are not retried.
 *
 * @example
 * - id: greet
 *   uses: tasks/grpc.call@0.1.0
 *   with: { address: "greeter:50051", protoFile: protos/greeter.proto, service: helloworld.Greeter, method: SayHello, request: { name: Ada } }
 */
export const grpcCall = defineTask<GrpcCallInput, GrpcCallOutput>({
  name: 'tasks/grpc.call',
  version: '0.1.0',
  description: 'Makes one unary gRPC call, the service described by a .proto source or file, or by server reflection.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      address: { type: 'string', pattern: '^[^\\s/]+:\\d{1,5}$', description: 'Server host:port.' },
      protoSource: { type: 'string', minLength: 1, maxLength: 1_000_000, description: 'The .proto source, inline.' },
      protoFile: { type: 'string', minLength: 1, description: 'Path of the .proto file on the worker.' },
      service: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_.]*$', description: 'Fully qualified service name, e.g. helloworld.Greeter.' },
      method: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Method name.' },
      request: { type: 'object', default: {}, description: 'Request message as JSON, proto field names.' },
      metadata: stringMapSchema('Call metadata (headers).'),
      tls: { type: 'boolean', default: false, description: 'Use TLS with the system roots.' },
      timeout: durationSchema('The call deadline. Default 30s.'),
    },
    required: ['address', 'service', 'method'],
    // At most one description; with none, the server describes the service itself (reflection).
    not: { required: ['protoSource', 'protoFile'] },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: { response: { type: 'object', description: 'The response message as JSON.' } },
    required: ['response'],
    additionalProperties: false,
  },
  validate(input) {
    if (input.timeout !== undefined && parseDuration(input.timeout) === undefined) throw invalidInput('timeout', `"${input.timeout}" is not a duration`);
    const source = sourceOf(input);
    // Without a proto the service is known only once the server has been asked, in execute.
    if (source) unaryMethod(packageDefinition(source), input.service, input.method);
  },
  async execute(input, ctx) {
    const { address, service, method, request = {}, tls = false } = input;
    const source = sourceOf(input);
    const timeoutMs = parseDuration(input.timeout ?? '30s') ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const metadata = new Metadata();
    // The call's trace context is the engine's alone (set per call below).
    for (const [name, value] of Object.entries(input.metadata ?? {})) if (!isTraceHeader(name)) metadata.set(name, value);
    ctx.signal.throwIfAborted();
    const client = await dialChecked(address, tls, ctx);
    const exchange = `${service}/${method} at ${address}`;
    try {
      const described = source ? packageDefinition(source) : await reflectedDefinition(service, { client, metadata, deadline, signal: ctx.signal });
      const definition = unaryMethod(described, service, method);
      const attributes = { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, ...serverAttributes(address) };
      const response = await withClientSpan(`${service}/${method}`, attributes, (trace, span) => {
        const traced = metadata.clone();
        for (const [name, value] of Object.entries(trace)) traced.set(name, value);
        return new Promise<object>((resolveCall, reject) => {
          const call = client.makeUnaryRequest(
            definition.path,
            definition.requestSerialize,
            definition.responseDeserialize,
            request,
            traced,
            { deadline },
            (error: ServiceError | null, value?: object) => {
              span.setAttribute('rpc.grpc.status_code', error ? error.code : status.OK);
              if (error) reject(error);
              else resolveCall(value ?? {});
            },
          );
          ctx.signal.addEventListener('abort', () => call.cancel(), { once: true });
        });
      });
      ctx.logger.info('grpc call succeeded', { service, method, address });
      return { response: response as Record<string, unknown> };
    } catch (error) {
      throw grpcFailure(error, ctx.signal, exchange);
    } finally {
      client.close();
    }
  },
});

/**
 * A client dialling the address the egress guard checked for `address` (no second DNS lookup by
 * grpc-js), TLS still verifying, and `:authority` still naming, the host the task asked for.
 */
async function dialChecked(address: string, tls: boolean, ctx: TaskContext): Promise<Client> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator);
  const port = Number(address.slice(separator + 1));
  const checked = await ctx.egress.target(host, port);
  const target = `${isIPv6(checked.address) ? `[${checked.address}]` : checked.address}:${port}`;
  const named = checked.servername === undefined ? {} : { 'grpc.ssl_target_name_override': checked.servername, 'grpc.default_authority': address };
  return new Client(target, tls ? credentials.createSsl() : credentials.createInsecure(), named);
}

function sourceOf(input: GrpcCallInput): { protoSource?: string; protoFile?: string } | undefined {
  if (input.protoSource !== undefined) return { protoSource: input.protoSource };
  return input.protoFile === undefined ? undefined : { protoFile: resolve(input.protoFile) };
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number';
}

function grpcFailure(error: unknown, signal: AbortSignal, exchange: string): unknown {
  if (signal.aborted) return signal.reason;
  if (!isServiceError(error)) return error;
  const name = status[error.code] ?? String(error.code);
  const options = { cause: error, details: { status: name, grpcCode: error.code } };
  if (error.code === status.UNAVAILABLE) return new TaskError(`${exchange}: peer unavailable (${error.details})`, { ...options, code: 'PEER_UNAVAILABLE', retryable: true });
  if (error.code === status.DEADLINE_EXCEEDED) return new TaskError(`${exchange}: deadline exceeded`, { ...options, code: 'TASK_TIMEOUT', retryable: true });
  return new TaskError(`${exchange} failed with ${name}: ${error.details}`, { ...options, code: 'TASK_FAILED', retryable: RETRYABLE.has(error.code) });
}
