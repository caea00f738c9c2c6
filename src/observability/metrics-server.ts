/**
 * The HTTP endpoint of `metrics.port`: `/metrics` (Prometheus text format), `/healthz` (the process
 * answers: 200) and `/readyz` (200 when ready, 503 with the reasons otherwise). Plain node:http: three
 * routes do not need a framework.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BinlogSyncError, describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { PrometheusMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: PrometheusMetrics;
  readonly readiness: () => Readiness;
  readonly logger: Logger;
}

export interface MetricsServer {
  /** The address it listens on (the port it got when asked for 0). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      o.metrics.render().then(
        (body) => res.writeHead(200, { 'content-type': o.metrics.contentType }).end(body),
        (err: unknown) => {
          o.logger.warn({ err: describeError(err) }, 'metrics: rendering failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics could not be rendered: ${describeError(err)}\n`);
        },
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const r = o.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(r.ready ? 'ready\n' : `not ready: ${r.reasons.join('; ')}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new BinlogSyncError('USAGE', `metrics: cannot listen on ${o.host}:${o.port} (metrics.host, metrics.port in the pipeline file): ${describeError(err)}${err.code === 'EADDRINUSE' ? '. Another process uses that port: choose another one.' : ''}`, {
          cause: err,
          details: { host: o.host, port: o.port },
        }),
      );
    };
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  o.logger.info({ url: `${url}/metrics` }, 'metrics: serving /metrics, /healthz and /readyz');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
