/**
 * A TCP proxy in front of a test server, so that a test can cut one path to it and leave the others:
 * `refuseNew()` closes every new connection as soon as it is accepted (the client sees the connection
 * reset or lost), while the connections already open keep working. Closing an open connection from
 * the server side (KILL) reaches the client as usual. `retarget()` moves it to another server, as a
 * failover behind a virtual IP does: open connections are cut, new ones reach the other server.
 */
import { createServer, Socket, type Server } from 'node:net';
import type { ServerEndpoint } from './servers.js';

export interface TcpProxy {
  /** The proxy's endpoint: the target's user and password, the proxy's port. */
  readonly endpoint: ServerEndpoint;
  /** Connections accepted and closed at once while refusing. */
  readonly refused: number;
  refuseNew(): void;
  allowNew(): void;
  /** Cuts every open connection; new ones go to `target` (its user and password must be the first's). */
  retarget(target: ServerEndpoint): void;
  close(): Promise<void>;
}

export async function startTcpProxy(first: ServerEndpoint): Promise<TcpProxy> {
  let target = first;
  let refusing = false;
  let refused = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (refusing) {
      refused++;
      client.destroy();
      return;
    }
    const upstream = new Socket();
    open.add(client);
    open.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Writes before the connection is up are buffered by the socket.
    upstream.connect(target.port, target.host);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: { ...first, host: '127.0.0.1', port },
    get refused() {
      return refused;
    },
    refuseNew: () => {
      refusing = true;
    },
    allowNew: () => {
      refusing = false;
    },
    retarget: (next) => {
      target = next;
      for (const s of open) s.destroy();
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
