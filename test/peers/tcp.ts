import { connect } from 'node:net';

/** Whether something accepts TCP connections on `host:port` right now. */
export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    // Refused or timed out: not serving yet, which is the answer, not a failure.
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
