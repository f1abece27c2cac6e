import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { status, type Client, type ClientDuplexStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { TaskError } from '../../sdk/index.js';
import { LOADER_OPTIONS } from './definitions.js';

/** The reflection protocols asked, newest first: servers that predate v1 serve only v1alpha. */
const VERSIONS = ['v1', 'v1alpha'] as const;

/** The reflection service's own definitions, from the `.proto` files `@grpc/reflection` ships. */
const REFLECTION_PROTOS = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), 'build', 'proto');

type ReflectionMethod = MethodDefinition<ReflectionRequest, ReflectionResponse>;

interface ReflectionRequest {
  host: string;
  file_containing_symbol: string;
}

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

let methods: Record<(typeof VERSIONS)[number], ReflectionMethod> | undefined;

/** Where to ask and how long: the same channel, metadata, deadline and cancellation as the call. */
export interface ReflectionCall {
  client: Client;
  metadata: Metadata;
  deadline: number;
  signal: AbortSignal;
}

/**
 * The package definition of the file that declares `service` on the server, with its
 * dependencies, asked through gRPC server reflection (`grpc.reflection.v1`, else `v1alpha`).
 *
 * @throws TaskError `TASK_INPUT_INVALID` when the server does not know the service, and
 * `TASK_FAILED` (not retryable) when it serves no reflection: give `protoFile` or `protoSource`.
 * Transport failures (`ServiceError`) are thrown as they are, for the caller's mapping.
 */
export async function reflectedDefinition(service: string, call: ReflectionCall): Promise<PackageDefinition> {
  methods ??= reflectionMethods();
  let unimplemented: ServiceError | undefined;
  for (const version of VERSIONS) {
    try {
      const files = await fileContainingSymbol(methods[version], service, call);
      return loadFileDescriptorSetFromBuffer(descriptorSet(files), LOADER_OPTIONS);
    } catch (error) {
      if (!isUnimplemented(error)) throw error;
      unimplemented = error;
    }
  }
  throw new TaskError(`the server does not serve gRPC reflection; give protoFile or protoSource for ${service}`, {
    code: 'TASK_FAILED',
    retryable: false,
    cause: unimplemented,
    details: { status: 'UNIMPLEMENTED' },
  });
}

function reflectionMethods(): Record<(typeof VERSIONS)[number], ReflectionMethod> {
  const load = (version: string): ReflectionMethod => {
    const definition = loadSync(join(REFLECTION_PROTOS, 'grpc', 'reflection', version, 'reflection.proto'), LOADER_OPTIONS);
    const service = definition[`grpc.reflection.${version}.ServerReflection`] as Record<string, ReflectionMethod>;
    return service['ServerReflectionInfo'] as ReflectionMethod;
  };
  return { v1: load('v1'), v1alpha: load('v1alpha') };
}

/** One request on the reflection stream: the serialized FileDescriptorProtos of `symbol`'s file and its dependencies. */
function fileContainingSymbol(method: ReflectionMethod, symbol: string, { client, metadata, deadline, signal }: ReflectionCall): Promise<Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) => {
    const stream: ClientDuplexStream<ReflectionRequest, ReflectionResponse> = client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      metadata,
      { deadline },
    );
    const onAbort = (): void => stream.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', onAbort);
    stream.once('data', (response: ReflectionResponse) => {
      settle();
      stream.end();
      if (response.error_response) {
        const { error_code: code, error_message: message } = response.error_response;
        reject(
          code === status.NOT_FOUND
            ? new TaskError(`service: the server knows no service "${symbol}" (gRPC reflection)`, { code: 'TASK_INPUT_INVALID', retryable: false, details: { path: 'service' } })
            : new TaskError(`gRPC reflection failed for ${symbol}: ${status[code] ?? code} ${message}`, { code: 'TASK_FAILED', retryable: true, details: { grpcCode: code } }),
        );
        return;
      }
      resolve(response.file_descriptor_response?.file_descriptor_proto ?? []);
    });
    stream.on('error', (error: ServiceError) => {
      settle();
      reject(error);
    });
    // Settled already when an answer came; otherwise the server closed the stream without one.
    stream.on('end', () => reject(new TaskError(`gRPC reflection for ${symbol} ended without an answer`, { code: 'TASK_FAILED', retryable: true })));
    stream.write({ host: '', file_containing_symbol: symbol });
  });
}

/** A serialized `google.protobuf.FileDescriptorSet` of the files (field 1, `repeated FileDescriptorProto file`). */
function descriptorSet(files: Buffer[]): Buffer {
  const writer = protobuf.Writer.create();
  for (const file of files) writer.uint32((1 << 3) | 2).bytes(file);
  return Buffer.from(writer.finish());
}

function isUnimplemented(error: unknown): error is ServiceError {
  return error instanceof Error && (error as Partial<ServiceError>).code === status.UNIMPLEMENTED;
}
