/**
 * The web dashboard (apps/web) served by the API, when it is built: the files of `webRoot`
 * (index.html, app.js, app.css) under `/`, and index.html for every other GET that asks for HTML
 * outside the API's own paths, so client-side routes such as `/experiments/e123` load the app.
 * Everything else keeps its answer: /v1 (and its JSON 404 for unknown paths), /docs, /metrics,
 * /healthz, /readyz. Without a built dashboard, `/` says how to build one. Whether it is built is
 * looked at once, when the app is built.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** apps/web/dist, from this file's place in apps/api (src/ or dist/ alike). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Paths the API answers itself: never the dashboard's index.html. */
const API_PATHS = /^\/(?:v1|docs|metrics|healthz|readyz)(?:[/?]|$)/;

export const WEB_NOT_BUILT =
  'the web dashboard is not built: run `npm run build:web` (or `npm run build -w @rdlab/web`) to write apps/web/dist, then restart the API';

export async function webRoutes(app: FastifyInstance, webRoot: string): Promise<void> {
  // @fastify/static wants an absolute root.
  const root = resolve(webRoot);
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async () => ({
      message: WEB_NOT_BUILT,
      api: '/v1',
      docs: '/docs',
    }));
    return;
  }
  await app.register(fastifyStatic, {
    root,
    // One route per file found now (index.html also answers `/`); the SPA fallback below does
    // the rest, so unknown paths that do not ask for HTML keep the JSON 404.
    wildcard: false,
    index: 'index.html',
    // File names carry no content hash: revalidate every time (ETag / Last-Modified).
    cacheControl: false,
    setHeaders: (reply) => {
      reply.header('cache-control', 'no-cache');
    },
  });
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    if (API_PATHS.test(request.url) || !acceptsHtml(request)) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}

function acceptsHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/i.test(request.headers.accept ?? '');
}
