import { createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP server that accepts connections and never answers: calls to it hang until cancelled. */
export interface BlackHolePeer {
  port: number;
  /** `127.0.0.1:<port>`. */
  address: string;
  /** Connections currently open (a cancelled client closes its own). */
  openConnections(): number;
  /** Connections accepted so far. */
  accepted(): number;
  stop(): Promise<void>;
}

/** Starts a {@link BlackHolePeer} on a free loopback port. */
export async function startBlackHole(): Promise<BlackHolePeer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Whatever the client sends is read and dropped; nothing is ever written back.
    socket.on('data', () => undefined);
    socket.on('error', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    openConnections: () => sockets.size,
    accepted: () => accepted,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on (bound, read, released): connections to it are refused. */
export { freePort as closedPort } from './ports.js';
