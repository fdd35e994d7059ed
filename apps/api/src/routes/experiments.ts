/**
 * Experiments: submit a sweep (or plan it with `?dryRun=true`), list and read them, cancel one,
 * follow its progress as Server-Sent Events.
 */
import { canonicalJson, cellRecord, cellSettings, SpecError, validateSpec } from '@rdlab/core';
import { ExperimentStatus } from '@rdlab/db';
import { checkSpecReferences } from '@rdlab/ml/references';
import { planSweep } from '@rdlab/plan';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ownedExperiment, principalOf, SECURITY } from '../auth.js';
import { specDocument, YAML_CONTENT_TYPES } from '../body.js';
import { cancelExperiment } from '../cancel.js';
import type { RouteDeps } from '../deps.js';
import { apiError, errorResponses } from '../errors.js';
import { experimentProgress } from '../progress.js';
import { boundedProblems, nulProblems, sourceProblems } from '../sources.js';
import { streamProgress } from '../sse.js';
import { experimentView, sweepCellView } from '../views.js';

/** Strings that reach Postgres: a NUL character is refused there (a 500), so it is a 400 here. */
export const NO_NUL = '^[^\\u0000]*$';

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      pattern: NO_NUL,
      description: 'experiment id',
    },
  },
} as const;

const submitted = {
  type: 'object',
  required: ['cells', 'plan'],
  properties: {
    dryRun: { type: 'boolean' },
    id: { type: 'string' },
    status: { type: 'string' },
    cells: { type: 'array', items: { $ref: 'SweepCell#' } },
    plan: { $ref: 'SweepPlan#' },
  },
};

/** The statuses the schema defines (Prisma's enum), for the `status` filter. */
const STATUSES = Object.values(ExperimentStatus);

export function experimentRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Querystring: { dryRun: boolean }; Headers: { 'idempotency-key'?: string } }>(
    '/experiments',
    {
      schema: {
        summary: 'Submit a sweep spec',
        description:
          'The body is the sweep spec as JSON or YAML (application/yaml, text/yaml, application/x-yaml). 201 with the experiment id, its cells and the compute plan. With `?dryRun=true`, 200 with the cells and the plan, and nothing is created. A retry with the same Idempotency-Key answers 200 with the first id and `Idempotent-Replayed: true`.',
        tags: ['experiments'],
        security: SECURITY,
        querystring: {
          type: 'object',
          properties: {
            dryRun: {
              type: 'boolean',
              default: false,
              description: 'Validate, expand and plan only',
            },
          },
        },
        headers: {
          type: 'object',
          properties: {
            'idempotency-key': {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              pattern: NO_NUL,
              description: 'Makes a retried POST return the experiment the first one created',
            },
          },
        },
        response: {
          201: { description: 'Created', ...submitted },
          200: { description: 'A dry run, or an idempotent replay', ...submitted },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { teamId, tokenId } = principalOf(request);
      const document = specDocument(request);
      const validation = validateSpec(document);
      if (!validation.ok) throw new SpecError(boundedProblems(validation.problems));
      const { spec, cells } = validation;
      const unsafe = [...sourceProblems(spec), ...nulProblems(document)];
      if (unsafe.length > 0) throw new SpecError(unsafe);
      // Checkpoint references: headers and configs only (remote ones are read by the workers).
      const references = await checkSpecReferences(spec);
      if (references.problems.length > 0) throw new SpecError(boundedProblems(references.problems));
      const plan = planSweep(spec, cells);
      // A cell that fits no worker (limits.workerMemoryGiB) is refused before anything is stored.
      if (plan.problems.length > 0) throw new SpecError(plan.problems);
      const cellViews = cells.map(sweepCellView);
      if (request.query.dryRun) return { dryRun: true, cells: cellViews, plan };

      const specResolved = JSON.parse(JSON.stringify(spec));
      const key = request.headers['idempotency-key'] ?? null;
      const replay = (experiment: { id: string; status: string; specResolved: unknown }) => {
        if (canonicalJson(experiment.specResolved) !== canonicalJson(specResolved)) {
          throw apiError(
            'RDLAB_IDEMPOTENCY_CONFLICT',
            `Idempotency-Key '${key}' was used for a different spec (experiment ${experiment.id}): use a new key for a new spec`,
            { experimentId: experiment.id },
          );
        }
        reply.header('idempotent-replayed', 'true').header('location', location(experiment.id));
        return { id: experiment.id, status: experiment.status, cells: cellViews, plan };
      };
      if (key !== null) {
        const existing = await deps.repos.experiments.findByIdempotencyKey(teamId, key);
        if (existing) return replay(existing);
      }
      const { experiment, created } = await deps.repos.experiments.createExperiment({
        teamId,
        ownerTokenId: tokenId,
        name: spec.name,
        specSubmitted: document as object,
        specResolved,
        idempotencyKey: key,
        // Resolved once, here: the scheduler and workers read these, never the spec's defaults.
        cells: cells.map((cell) => ({
          ...cellRecord(cell),
          settings: JSON.parse(JSON.stringify(cellSettings(spec, cell))),
        })),
      });
      if (!created) return replay(experiment);
      reply.code(201).header('location', location(experiment.id));
      return { id: experiment.id, status: experiment.status, cells: cellViews, plan };
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string; status?: ExperimentStatus } }>(
    '/experiments',
    {
      schema: {
        summary: "List the team's experiments, newest first",
        tags: ['experiments'],
        security: SECURITY,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            cursor: {
              type: 'string',
              minLength: 1,
              maxLength: 128,
              pattern: NO_NUL,
              description: "The previous page's nextCursor",
            },
            status: { type: 'string', enum: STATUSES },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'nextCursor'],
            properties: {
              items: { type: 'array', items: { $ref: 'Experiment#' } },
              nextCursor: { type: ['string', 'null'], description: 'null on the last page' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { teamId } = principalOf(request);
      const { limit, cursor, status } = request.query;
      if (cursor && !(await deps.repos.experiments.getExperiment(teamId, cursor))) {
        throw apiError(
          'RDLAB_BAD_REQUEST',
          `querystring field 'cursor': '${cursor}' is not a cursor of this list`,
          {
            location: 'querystring',
            field: 'cursor',
          },
        );
      }
      const page = await deps.repos.experiments.listExperiments(teamId, {
        limit,
        cursor: cursor ?? null,
        ...(status ? { status } : {}),
      });
      return { items: page.items.map(experimentView), nextCursor: page.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/experiments/:id',
    {
      schema: {
        summary: 'An experiment with its progress and ETA',
        tags: ['experiments'],
        security: SECURITY,
        params: idParams,
        response: { 200: { $ref: 'ExperimentDetail#' }, ...errorResponses },
      },
    },
    async (request) => {
      const experiment = await ownedExperiment(deps, request, request.params.id);
      return {
        ...experimentView(experiment),
        progress: await experimentProgress(deps, experiment),
        spec: experiment.specResolved,
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/experiments/:id/cancel',
    {
      schema: {
        summary: 'Cancel a queued or running experiment',
        description:
          'Sets the experiment, its pending and running cells and its open stage jobs to cancelled, removes its jobs that have not started from the queue (unless another live experiment shares them) and tells workers to abort a running job nobody else needs. What is stored stays. 409 RDLAB_EXPERIMENT_FINISHED when it already finished.',
        tags: ['experiments'],
        security: SECURITY,
        params: idParams,
        response: { 200: { $ref: 'Experiment#' }, ...errorResponses },
      },
    },
    async (request) => {
      const { teamId } = principalOf(request);
      const outcome = await cancelExperiment(deps, teamId, request.params.id, request.log);
      request.log.info(
        { experimentId: outcome.experiment.id, removed: outcome.removedJobs.length },
        'experiment cancelled',
      );
      return experimentView(outcome.experiment);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/experiments/:id/events',
    {
      schema: {
        summary: 'Progress as Server-Sent Events',
        description:
          '`event: progress` with the progress object of GET /v1/experiments/:id each time it changes, then `event: done` with `{"status"}` once the experiment finished, and the stream ends.',
        tags: ['experiments'],
        security: SECURITY,
        params: idParams,
        produces: ['text/event-stream'],
        response: {
          200: { description: 'text/event-stream', type: 'string' },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      const experiment = await ownedExperiment(deps, request, request.params.id);
      streamProgress(deps, request, reply, experiment);
      return reply;
    },
  );
}

const location = (id: string) => `/v1/experiments/${id}`;

/** Content types POST /v1/experiments accepts (for the OpenAPI document). */
export const SPEC_CONTENT_TYPES = ['application/json', ...YAML_CONTENT_TYPES];
