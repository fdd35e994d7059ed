/**
 * Container entry of a worker (images `worker-cpu` and `worker-gpu`):
 *
 *   node --conditions=source --import tsx docker/worker.ts
 *
 * It is apps/worker's `startWorker`, configured from the same environment (apps/worker/README.md),
 * plus `GET /metrics` and `GET /healthz` on `RDLAB_METRICS_HOST:RDLAB_METRICS_PORT`
 * (default 0.0.0.0:9464).
 *
 * Why not apps/worker/src/main.ts itself: its metrics server binds 127.0.0.1, which neither
 * Prometheus nor the kubelet reaches from outside the container. Here the worker's own server
 * listens on a free loopback port and this one passes its exposition through unchanged.
 *
 * Liveness: /healthz answers while the main event loop does. A stage computes in a sandboxed
 * child process, so a long training step never blocks it; the heartbeat (every 5 s into
 * Postgres `workers.last_heartbeat_at`, `alive` in GET /v1/workers) is the fleet-level view.
 *
 * SIGTERM / SIGINT, as main.ts: the running job is released at once (the train stage writes a
 * checkpoint at its next step and the job goes back to the queue), and the worker force-closes
 * after RDLAB_SHUTDOWN_GRACE_MS (default 30000). /healthz keeps answering meanwhile, so a
 * liveness probe does not kill a worker that is handing its job over.
 */
import { startWorker, workerConfig } from '@rdlab/worker';
import { metricsPortFromEnv, startProbeServer } from './probe-server.js';

/** The container's environment (compose, the chart). */
const env = process.env;

const graceMs = Number(env.RDLAB_SHUTDOWN_GRACE_MS ?? 30_000);
if (!Number.isFinite(graceMs) || graceMs < 0)
  throw new Error(
    `RDLAB_SHUTDOWN_GRACE_MS must be milliseconds ≥ 0, got '${env.RDLAB_SHUTDOWN_GRACE_MS}'`,
  );
const publicPort = metricsPortFromEnv(env, 9464);

// The worker's own /metrics on a free loopback port; ours re-serves it on the public address.
const running = await startWorker(workerConfig({ ...env, RDLAB_METRICS_PORT: '0' }));
let stopping = false;
const probe = await startProbeServer({
  port: publicPort,
  host: env.RDLAB_METRICS_HOST || '0.0.0.0',
  health: () => ({ worker: running.id, backend: running.backend, stopping }),
  metrics: async () => {
    const res = await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`the worker's metrics server answered ${res.status}`);
    return {
      contentType: res.headers.get('content-type') ?? 'text/plain; version=0.0.4',
      body: await res.text(),
    };
  },
});
console.log(
  JSON.stringify({
    msg: 'worker probes listening',
    worker: running.id,
    backend: running.backend,
    port: probe.port,
  }),
);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stopping = true;
    void running
      .close(graceMs)
      .then(() => probe.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
  });
}
