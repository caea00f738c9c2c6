/**
 * A TCP proxy that misbehaves on demand, between the pipeline and one server, for the fault drills:
 * - `stall()` / `heal()`: bytes stop flowing both ways (held, not lost) on every connection, old and
 *   new, while the sockets stay open, as a network that silently drops packets looks to both ends;
 * - `slow(ms)`: every chunk, either way, is delayed by `ms` (order kept);
 * - `dropMidPacket()`: every open connection is cut after forwarding only the first half of the next
 *   chunk it carries (a MySQL packet arrives truncated), then closed both ways; new ones are spared.
 * Unlike tcp-proxy.ts (which cuts or moves whole connections), bytes are forwarded one chunk at a time
 * so that they can be held, delayed or truncated.
 */
import { createServer, Socket, type Server } from 'node:net';
import type { ServerEndpoint } from './servers.js';

export interface FaultProxy {
  /** The proxy's endpoint: the server's user and password, the proxy's port. */
  readonly endpoint: ServerEndpoint;
  /** Connections cut by `dropMidPacket` so far. */
  readonly dropped: number;
  stall(): void;
  slow(delayMs: number): void;
  /**
   * Cuts every open connection (that carried at least `minServedBytes` from the server: a busy one)
   * after half of the next chunk it carries; resolves once the first is cut
   * (idle ones are cut when they next carry bytes, unless `heal` comes first).
   */
  dropMidPacket(minServedBytes?: number): Promise<void>;
  /** Back to forwarding at once: held bytes flow, no delay. */
  heal(): void;
  close(): Promise<void>;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Set by dropMidPacket: the next chunk is cut in half and the link closed; resolves when it is. */
  cut: (() => void) | null;
  /** Cut: the rest of what either side sends is dropped until the link is closed. */
  severed: boolean;
  closed: boolean;
  /** Bytes carried from the server to the client. */
  served: number;
}

export async function startFaultProxy(server: ServerEndpoint): Promise<FaultProxy> {
  let delayMs = 0;
  let stalled: { promise: Promise<void>; release: () => void } | null = null;
  let dropped = 0;
  const links = new Set<Link>();

  const close = (link: Link): void => {
    if (link.closed) return;
    link.closed = true;
    link.client.destroy();
    link.upstream.destroy();
    links.delete(link);
    link.cut?.();
    link.cut = null;
  };

  /** Forwards `from` → `to` chunk by chunk, each after the stall (if any) and the delay, in order. */
  const forward = (link: Link, from: Socket, to: Socket): void => {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      chain = chain.then(async () => {
        while (stalled) await stalled.promise;
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        if (link.closed) return;
        // After the cut nothing more goes through: the peer sees a packet truncated, then the end
        // (a real network loses bytes at a cut; it never splices the halves of later chunks in).
        if (link.severed) return;
        if (link.cut) {
          const cut = link.cut;
          link.cut = null;
          link.severed = true;
          cut();
          dropped++;
          to.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)));
          // Not after the write's callback: a reader that applies backpressure may never drain it.
          setTimeout(() => close(link), 20);
          return;
        }
        to.write(chunk);
      });
    });
  };

  const listener: Server = createServer((client) => {
    const upstream = new Socket();
    const link: Link = { client, upstream, cut: null, severed: false, closed: false, served: 0 };
    links.add(link);
    client.on('error', () => close(link)).on('close', () => close(link));
    upstream.on('error', () => close(link)).on('close', () => close(link));
    upstream.connect(server.port, server.host);
    forward(link, client, upstream);
    upstream.on('data', (chunk: Buffer) => (link.served += chunk.length));
    forward(link, upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const address = listener.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const heal = (): void => {
    delayMs = 0;
    // Idle connections still waiting to be cut are spared.
    for (const link of links) {
      link.cut?.();
      link.cut = null;
    }
    const s = stalled;
    stalled = null;
    s?.release();
  };
  return {
    endpoint: { ...server, host: '127.0.0.1', port },
    get dropped() {
      return dropped;
    },
    stall: () => {
      if (stalled) return;
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      stalled = { promise, release };
    },
    slow: (ms) => {
      delayMs = ms;
    },
    dropMidPacket: (minServedBytes = 0) =>
      Promise.race(
        [...links].filter((l) => l.served >= minServedBytes).map(
          (link) =>
            new Promise<void>((resolve) => {
              if (link.closed) resolve();
              else link.cut = resolve;
            }),
        ),
      ),
    heal,
    close: async () => {
      heal();
      for (const link of [...links]) close(link);
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
