#!/usr/bin/env node
// The images' HEALTHCHECK (plain Node, no loader: it starts in ~50 ms):
//
//   node docker/healthcheck.mjs api        GET http://127.0.0.1:$RDLAB_API_PORT/healthz (8080)
//   node docker/healthcheck.mjs probes     GET http://127.0.0.1:$RDLAB_METRICS_PORT/healthz (9464):
//                                          docker/worker.ts and docker/scheduler.ts
//   node docker/healthcheck.mjs <url>      GET that URL
//
// Exit 0 on a 2xx answer within RDLAB_HEALTHCHECK_TIMEOUT_MS (default 3000), else 1 with the
// reason on stderr (Docker keeps it in `docker inspect`'s health log).
const [target = 'api'] = process.argv.slice(2);
const env = process.env;
const urls = {
  api: `http://127.0.0.1:${env.RDLAB_API_PORT || 8080}/healthz`,
  probes: `http://127.0.0.1:${env.RDLAB_METRICS_PORT || 9464}/healthz`,
};
const url = urls[target] ?? target;
if (!/^https?:\/\//.test(url)) {
  console.error(`healthcheck: unknown target '${target}': api, probes or an http(s) URL`);
  process.exit(2);
}
try {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(Number(env.RDLAB_HEALTHCHECK_TIMEOUT_MS || 3000)),
  });
  if (!res.ok) {
    console.error(`healthcheck: ${url} answered ${res.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`healthcheck: ${url}: ${error.cause?.code ?? error.message}`);
  process.exit(1);
}
