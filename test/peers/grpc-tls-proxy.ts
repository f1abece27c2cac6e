/**
 * A TLS-terminating gRPC proxy in front of a plain-gRPC Temporal frontend, the way a production
 * Temporal is reached (`temporal server start-dev` has no TLS flags): it completes the handshake
 * only for a client certificate signed by its CA, records each call's `authorization` header, and
 * forwards every HTTP/2 stream (headers, messages, trailers, resets) unchanged to the frontend.
 * Also: {@link makeTestPki}, a CA, a server certificate and client certificates made with openssl.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  connect as connectHttp2,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** PEM files made by {@link makeTestPki}, by path. */
export interface TestPki {
  /** The CA that signed the server and the `client` certificate. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from another CA, which the proxy must refuse. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** EC P-256 key and a certificate for `cn`, signed by `ca` (or self-signed as a CA without one). */
function certificate(dir: string, name: string, cn: string, extensions: string, ca?: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions}\n`);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-subj', `/CN=${cn}`];
  if (ca === undefined) {
    openssl(['req', '-x509', ...newKey, '-out', cert, '-days', '2', '-extensions', 'v3', '-config', writeConfig(dir, name, extensions)]);
  } else {
    const csr = join(dir, `${name}.csr`);
    openssl(['req', ...newKey, '-out', csr]);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);
  }
  return { cert, key };
}

/** A minimal openssl config whose `v3` section holds `extensions` (for a self-signed CA). */
function writeConfig(dir: string, name: string, extensions: string): string {
  const file = join(dir, `${name}.cnf`);
  writeFileSync(file, `[req]\ndistinguished_name = dn\n[dn]\n[v3]\n${extensions}\n`);
  return file;
}

/** Makes a CA, a server certificate for `localhost` and 127.0.0.1, and client certificates, in `dir`. */
export function makeTestPki(dir: string): TestPki {
  const caExt = 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign';
  const ca = certificate(dir, 'ca', 'maestro-test-ca', caExt);
  const server = certificate(dir, 'server', 'localhost', 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth', ca);
  const client = certificate(dir, 'client', 'maestro-worker', 'extendedKeyUsage = clientAuth', ca);
  const otherCa = certificate(dir, 'other-ca', 'someone-else', caExt);
  const stranger = certificate(dir, 'stranger', 'maestro-worker', 'extendedKeyUsage = clientAuth', otherCa);
  return {
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    strangerCert: stranger.cert,
    strangerKey: stranger.key,
  };
}

/** A started proxy. */
export interface GrpcTlsProxy {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** The `authorization` header of every call received, in order (undefined when absent). */
  readonly authorizations: readonly (string | undefined)[];
  /** Handshakes refused (no client certificate, an unknown CA, not TLS at all). */
  readonly refusedHandshakes: () => number;
  close(): Promise<void>;
}

/** Forwards one gRPC call to `upstream`, and its answer back. */
function forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, upstream: ClientHttp2Session): void {
  const request = upstream.request(headers as OutgoingHttpHeaders);
  stream.pipe(request);
  let trailers: OutgoingHttpHeaders = {};
  request.on('trailers', (received) => (trailers = received as OutgoingHttpHeaders));
  request.on('response', (responseHeaders, flags) => {
    if (stream.destroyed) return;
    // A trailers-only answer (a gRPC error) ends the stream in its one HEADERS frame.
    if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
      stream.respond(responseHeaders as OutgoingHttpHeaders, { endStream: true });
      return;
    }
    stream.respond(responseHeaders as OutgoingHttpHeaders, { waitForTrailers: true });
    request.pipe(stream);
  });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  request.on('error', () => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
  // Only a reset travels on as a reset: a normal close comes before the answer's last bytes and
  // trailers have gone out downstream, and closing there would cut them off.
  request.on('close', () => {
    const code = request.rstCode ?? constants.NGHTTP2_NO_ERROR;
    if (code !== constants.NGHTTP2_NO_ERROR && !stream.closed) stream.close(code);
  });
  stream.on('error', () => request.close(constants.NGHTTP2_CANCEL));
  stream.on('close', () => {
    if (!request.closed) request.close(constants.NGHTTP2_CANCEL);
  });
}

/** Starts the proxy on a free port of 127.0.0.1, forwarding to the plain-gRPC `target` (`host:port`). */
export async function startGrpcTlsProxy(options: { target: string; pki: TestPki }): Promise<GrpcTlsProxy> {
  const { target, pki } = options;
  const upstream = connectHttp2(`http://${target}`);
  // A failing upstream shows as failed calls (each stream's 'error'), which is what the test observes.
  upstream.on('error', () => undefined);
  const authorizations: (string | undefined)[] = [];
  let refused = 0;
  const server = createSecureServer({
    key: readFileSync(pki.serverKey),
    cert: readFileSync(pki.serverCert),
    ca: readFileSync(pki.caCert),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
  });
  server.on('tlsClientError', () => (refused += 1));
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    authorizations.push(typeof headers.authorization === 'string' ? headers.authorization : undefined);
    forward(stream, headers, upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorizations,
    refusedHandshakes: () => refused,
    close: async () => {
      upstream.destroy();
      const closed = once(server, 'close');
      server.close();
      // Workers' long polls keep their sessions open; end them rather than wait.
      for (const session of sessions) session.destroy();
      await closed;
    },
  };
}
