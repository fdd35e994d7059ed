/**
 * The small HTTP server of the container entries (docker/worker.ts, docker/scheduler.ts):
 *
 *   GET /healthz   200 {"status":"ok", …} while the process's event loop answers (liveness)
 *   GET /metrics   Prometheus text, or 503 while it cannot be produced
 *
 * It listens on RDLAB_METRICS_HOST (default 0.0.0.0) so Prometheus and the kubelet reach it from
 * outside the container.
 */
import { createServer } from 'node:http';

export interface ProbeServerOptions {
  port: number;
  host?: string;
  /** The body of /healthz (merged into `{ status: 'ok' }`). */
  health: () => Record<string, unknown>;
  /** The body of /metrics and its content type. */
  metrics: () => Promise<{ contentType: string; body: string }>;
}

export interface ProbeServer {
  /** The port it listens on (the one asked for, or a free one for 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** The port in `RDLAB_METRICS_PORT` (default `fallback`); throws naming the variable. */
export function metricsPortFromEnv(env: NodeJS.ProcessEnv, fallback: number): number {
  const text = env.RDLAB_METRICS_PORT;
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`RDLAB_METRICS_PORT must be a port number in [0, 65535], got '${text}'`);
  return port;
}

export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const body = JSON.stringify({ status: 'ok', ...options.health() });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (path === '/metrics') {
      options.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        (error: unknown) =>
          res
            .writeHead(503, { 'content-type': 'text/plain' })
            .end(`metrics unavailable: ${(error as Error).message ?? String(error)}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /healthz, /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
