/**
 * Bearer tokens on every /v1 route, and tenancy: a token sees its team's experiments only, and
 * another team's experiment answers 404 exactly like an id that does not exist.
 */
import { createHash } from 'node:crypto';
import type { Experiment, Principal } from '@rdlab/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from './deps.js';
import { apiError, notFound, sendApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated token's team; set on every /v1 route before the handler runs. */
    principal: Principal | null;
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** OpenAPI: the security scheme of /v1 routes. */
export const SECURITY = [{ bearerAuth: [] }];

/** Adds the `onRequest` hook that authenticates every route of `app` (the /v1 scope). */
export function requireBearerToken(app: FastifyInstance, deps: RouteDeps): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    if (!match?.[1]) {
      reply.header('www-authenticate', 'Bearer realm="rdlab"');
      return sendApiError(
        reply,
        apiError(
          'RDLAB_UNAUTHORIZED',
          header
            ? "the Authorization header must be 'Bearer <token>'"
            : "missing Authorization header: send 'Authorization: Bearer <token>'",
        ),
      );
    }
    const principal = await deps.repos.tokens.authenticate(match[1]);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="rdlab", error="invalid_token"');
      return sendApiError(
        reply,
        apiError('RDLAB_UNAUTHORIZED', 'the bearer token is unknown, malformed or revoked'),
      );
    }
    request.principal = principal;
  });
}

/** The principal of an authenticated request (the hook guarantees one on /v1 routes). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw apiError('RDLAB_UNAUTHORIZED', 'not authenticated');
  return request.principal;
}

/** The caller's experiment `id`, or 404 RDLAB_NOT_FOUND (also for another team's). */
export async function ownedExperiment(
  deps: RouteDeps,
  request: FastifyRequest,
  id: string,
): Promise<Experiment> {
  const experiment = await deps.repos.experiments.getExperiment(principalOf(request).teamId, id);
  if (!experiment) throw notFound(`experiment ${id}`);
  return experiment;
}

/** Rate-limit key: a hash of the Authorization header (one bucket per token, never the secret). */
export function rateLimitKey(request: FastifyRequest): string {
  const header = request.headers.authorization;
  return header
    ? `token:${createHash('sha256').update(header).digest('hex').slice(0, 32)}`
    : `ip:${request.ip}`;
}
