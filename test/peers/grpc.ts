import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

/** The gRPC peer: `maestro.test.Greeter` from `fixtures/greeter.proto`, with server reflection (v1 and v1alpha). */
export interface GrpcPeer {
  /** `127.0.0.1:<port>`. */
  address: string;
  protoFile: string;
  /** The proto file's text, for `protoSource`. */
  protoSource: string;
  /** Calls received, by method name. */
  calls: Map<string, number>;
  /** Calls whose client went away before the answer (cancelled). */
  cancelled(): number;
  /** The metadata of the last Greeter call received (names in lower case). */
  lastMetadata(): Record<string, string>;
  stop(): Promise<void>;
}

/** The fixture proto of the gRPC peer. */
export const GREETER_PROTO = join(import.meta.dirname, 'fixtures', 'greeter.proto');

/** Options of {@link startGrpcPeer}. */
export interface GrpcPeerOptions {
  /** Serve the reflection service (v1 and v1alpha) describing the Greeter. @default true */
  reflection?: boolean;
}

/**
 * Starts a real gRPC server (@grpc/grpc-js) on a free loopback port, plaintext, serving the Greeter
 * and, unless told otherwise, the reflection service (`@grpc/reflection`) describing it.
 */
export async function startGrpcPeer({ reflection = true }: GrpcPeerOptions = {}): Promise<GrpcPeer> {
  const definition = loadSync(GREETER_PROTO, { keepCase: true });
  const service = definition['maestro.test.Greeter'];
  if (!service || 'format' in service) throw new Error(`${GREETER_PROTO} defines no maestro.test.Greeter service`);
  const calls = new Map<string, number>();
  let cancelled = 0;
  let lastMetadata: Record<string, string> = {};
  const count = (method: string, call: ServerUnaryCall<unknown, unknown>): void => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
    lastMetadata = Object.fromEntries(Object.entries(call.metadata.getMap()).map(([name, value]) => [name, String(value)]));
  };
  const implementation: UntypedServiceImplementation = {
    SayHello(call: ServerUnaryCall<{ name: string }, unknown>, callback: sendUnaryData<unknown>) {
      count('SayHello', call);
      callback(null, { message: `Hello, ${call.request.name}!`, served_at: Date.now() });
    },
    SlowHello(call: ServerUnaryCall<{ name: string; delay_ms: number }, unknown>, callback: sendUnaryData<unknown>) {
      count('SlowHello', call);
      const timer = setTimeout(() => callback(null, { message: `Hello, ${call.request.name}!`, served_at: Date.now() }), call.request.delay_ms);
      call.on('cancelled', () => {
        cancelled++;
        clearTimeout(timer);
      });
    },
    Fail(call: ServerUnaryCall<{ code: number; message: string }, unknown>, callback: sendUnaryData<unknown>) {
      count('Fail', call);
      callback({ code: call.request.code as status, details: call.request.message }, null);
    },
  };
  const server = new Server();
  server.addService(service as Parameters<Server['addService']>[0], implementation);
  if (reflection) new ReflectionService(definition).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    protoFile: GREETER_PROTO,
    protoSource: readFileSync(GREETER_PROTO, 'utf8'),
    calls,
    cancelled: () => cancelled,
    lastMetadata: () => lastMetadata,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
