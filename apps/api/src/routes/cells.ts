/**
 * Cells: an experiment's cells with their status and headline results, and one cell's metric
 * series (the points stages reported: `train/loss`, `eval/acc`, …).
 */
import type { FastifyInstance } from 'fastify';
import { ownedExperiment, principalOf, SECURITY } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { errorResponses, notFound } from '../errors.js';
import { cellView, resultsByCell } from '../views.js';
import { idParams, NO_NUL } from './experiments.js';

interface MetricsQuery {
  experiment?: string;
  name?: string;
}

export function cellRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get<{ Params: { id: string } }>(
    '/experiments/:id/cells',
    {
      schema: {
        summary: "An experiment's cells: status, epochs done, start and latest Acc and Reward",
        tags: ['cells'],
        security: SECURITY,
        params: idParams,
        response: {
          200: {
            type: 'object',
            required: ['items'],
            properties: { items: { type: 'array', items: { $ref: 'CellSummary#' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const experiment = await ownedExperiment(deps, request, request.params.id);
      const [cells, results] = await Promise.all([
        deps.repos.cells.listCells(experiment.id),
        deps.repos.results.listEvalResults(experiment.id),
      ]);
      const byCell = resultsByCell(results);
      return { items: cells.map((cell) => cellView(cell, byCell.get(cell.id) ?? [])) };
    },
  );

  app.get<{ Params: { cellId: string }; Querystring: MetricsQuery }>(
    '/cells/:cellId/metrics',
    {
      schema: {
        summary: "A cell's metric series, grouped by name",
        description:
          'A cell id is a content id and may belong to several experiments: `experiment` picks one (default: the newest of your experiments with that cell). `name` keeps one metric.',
        tags: ['cells'],
        security: SECURITY,
        params: {
          type: 'object',
          required: ['cellId'],
          properties: { cellId: { type: 'string', minLength: 1, maxLength: 128, pattern: NO_NUL } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            experiment: { type: 'string', minLength: 1, maxLength: 128, pattern: NO_NUL },
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: NO_NUL },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['experimentId', 'cellId', 'series'],
            properties: {
              experimentId: { type: 'string' },
              cellId: { type: 'string' },
              series: {
                type: 'object',
                description: 'metric name → points by step',
                additionalProperties: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      step: { type: 'integer' },
                      epoch: { type: 'integer' },
                      value: { type: 'number' },
                    },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { teamId } = principalOf(request);
      const { cellId } = request.params;
      const { experiment: experimentId, name } = request.query;
      let owner: string | undefined;
      if (experimentId) {
        const experiment = await ownedExperiment(deps, request, experimentId);
        if (!(await deps.repos.cells.getCell(experiment.id, cellId)))
          throw notFound(`cell ${cellId} of experiment ${experiment.id}`);
        owner = experiment.id;
      } else {
        const newest = await deps.db.cell.findFirst({
          where: { id: cellId, experiment: { teamId } },
          orderBy: { experiment: { createdAt: 'desc' } },
          select: { experimentId: true },
        });
        owner = newest?.experimentId;
      }
      if (!owner) throw notFound(`cell ${cellId}`);
      const points = await deps.db.metricPoint.findMany({
        where: { experimentId: owner, cellId, ...(name ? { name } : {}) },
        orderBy: [{ name: 'asc' }, { step: 'asc' }, { id: 'asc' }],
        select: { name: true, step: true, epoch: true, value: true },
      });
      const series: Record<string, { step: number; epoch: number; value: number }[]> = {};
      for (const p of points) {
        let list = series[p.name];
        if (!list) {
          list = [];
          series[p.name] = list;
        }
        list.push({ step: p.step, epoch: p.epoch, value: p.value });
      }
      return { experimentId: owner, cellId, series };
    },
  );
}
