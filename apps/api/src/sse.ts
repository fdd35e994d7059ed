/**
 * Server-Sent Events for one experiment, written by hand on `reply.raw`: an `event: progress`
 * with the progress object whenever it changed (looked at every `sseIntervalMs`), a comment line
 * every 15 s while nothing changes (so proxies keep the connection), then `event: done` with the
 * final status and the end of the stream. The stream stops when the client disconnects and when
 * the server closes.
 */
import type { Experiment } from '@rdlab/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps } from './deps.js';
import { apiError, toApiError, UNAVAILABLE_RETRY_AFTER_S } from './errors.js';
import { experimentProgress, isFinished } from './progress.js';

const KEEPALIVE_MS = 15_000;

export function streamProgress(
  deps: RouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  first: Experiment,
): void {
  if (deps.streams.closing) {
    throw apiError(
      'RDLAB_UNAVAILABLE',
      'the server is closing: reconnect to another replica',
      {},
      {
        retryAfterS: UNAVAILABLE_RETRY_AFTER_S,
      },
    );
  }
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write(`retry: ${deps.options.sseIntervalMs}\n\n`);

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let lastWriteAt = Date.now();

  const write = (event: string, data: unknown) => {
    raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    lastWriteAt = Date.now();
  };
  const end = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    deps.streams.open.delete(end);
    raw.end();
  };
  deps.streams.open.add(end);
  request.raw.on('close', end);
  raw.on('close', end);

  const tick = async (experiment: Experiment | null) => {
    if (closed) return;
    try {
      const current =
        experiment ?? (await deps.repos.experiments.getExperiment(first.teamId, first.id));
      if (closed) return;
      if (!current) {
        write('done', { status: 'deleted' });
        return end();
      }
      const progress = await experimentProgress(deps, current);
      if (closed) return;
      const text = JSON.stringify(progress);
      if (text !== last) {
        last = text;
        write('progress', progress);
      } else if (Date.now() - lastWriteAt >= KEEPALIVE_MS) {
        raw.write(': keep-alive\n\n');
        lastWriteAt = Date.now();
      }
      if (isFinished(current.status)) {
        write('done', { status: current.status });
        return end();
      }
    } catch (error) {
      const e = toApiError(error);
      request.log.warn({ err: error }, 'progress stream failed');
      write('error', { error: { code: e.code, message: e.message, details: e.details } });
      return end();
    }
    timer = setTimeout(() => void tick(null), deps.options.sseIntervalMs);
  };
  void tick(first);
}
