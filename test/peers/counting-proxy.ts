import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/** A TCP proxy in front of a peer that counts the connections it receives. */
export interface CountingProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  address: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** With `record`: what clients sent through the proxy so far, as latin1 text (the requests of a plaintext protocol). */
  sent(): string;
  stop(): Promise<void>;
}

/**
 * Starts a TCP proxy on a free loopback port forwarding every connection to `target` and counting
 * them: the observation of whether a task reached a peer at all (refused before connecting means
 * zero connections). With `record`, it also keeps what the clients sent, to read the requests a
 * peer does not show.
 */
export async function startCountingProxy(target: { host?: string; port: number }, { record = false }: { record?: boolean } = {}): Promise<CountingProxy> {
  let connections = 0;
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    connections += 1;
    const upstream = connect({ host: target.host ?? '127.0.0.1', port: target.port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // A reset on either side ends the pair; the error is the peer's, not the test's.
      socket.on('error', () => undefined);
    }
    if (record) client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    sent: () => Buffer.concat(chunks).toString('latin1'),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
