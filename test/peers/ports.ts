import { createServer, type AddressInfo } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now: bound to port 0, read back, released. A peer started on
 * it a moment later may in rare cases lose it to another process; {@link spawnPeer} then fails
 * with the peer's own "address in use" output.
 */
export async function freePort(): Promise<number> {
  return bindAndRelease(0);
}

/** Where {@link restartablePort} looks: below Linux's ephemeral range (32768–60999). */
const RESTARTABLE_PORTS = { from: 20_000, count: 12_000 };

/**
 * A TCP port free on 127.0.0.1 right now, for a server that is stopped and started again on the
 * same port while other tests run (an install whose settings name its ports). It lies below the
 * kernel's ephemeral range, which {@link freePort} and every outgoing connection draw from, so
 * between the two starts nothing but an explicit bind can take it.
 */
export async function restartablePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = RESTARTABLE_PORTS.from + Math.floor(Math.random() * RESTARTABLE_PORTS.count);
    try {
      return await bindAndRelease(port);
    } catch {
      // Taken: try another.
    }
  }
  throw new Error(`no free port in ${RESTARTABLE_PORTS.from}–${RESTARTABLE_PORTS.from + RESTARTABLE_PORTS.count - 1}`);
}

/** Binds `port` on 127.0.0.1 (0: any free one), releases it, and returns the port bound. */
async function bindAndRelease(port: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}
