/**
 * What the report job wrote into the artifact store, passed through: `results.json`
 * (`{report, results}`: buildReport's variants with the start point, both verdicts and the
 * Pareto front, and every cell's result), `results.csv` and `report.html`, all under
 * `experiments/<id>/`. Until the experiment finished they do not exist: 409
 * RDLAB_RESULTS_NOT_READY.
 */
import { type DropoutConfig, dropoutLabel, parseDropoutLabel } from '@rdlab/core';
import type { Experiment } from '@rdlab/db';
import { resultsKey } from '@rdlab/plan';
import { ArtifactNotFoundError } from '@rdlab/store';
import type { FastifyInstance } from 'fastify';
import { ownedExperiment, SECURITY } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { apiError, errorResponses } from '../errors.js';
import { isFinished } from '../progress.js';
import { idParams } from './experiments.js';

export function resultRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const read = async (experiment: Experiment, file: string): Promise<Buffer> => {
    if (!isFinished(experiment.status)) {
      throw apiError(
        'RDLAB_RESULTS_NOT_READY',
        `experiment ${experiment.id} is ${experiment.status}: results exist once it has finished`,
        { status: experiment.status },
      );
    }
    try {
      return Buffer.from(await deps.store.get(resultsKey(experiment.id, file)));
    } catch (error) {
      if (!(error instanceof ArtifactNotFoundError)) throw error;
      throw apiError(
        'RDLAB_RESULTS_NOT_READY',
        `experiment ${experiment.id} finished as ${experiment.status} without a report (${file} is not in the store)`,
        { status: experiment.status },
      );
    }
  };

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'csv' } }>(
    '/experiments/:id/results',
    {
      schema: {
        summary: 'Results: JSON (report and per-cell results) or CSV',
        description:
          'JSON `{report, results}`: `report.variants` hold Acc, Reward and Acc+Reward (mean, sd) per (dataset, attribute, target, dropout), the start point, `versusStart` and `versusNone` verdicts, degeneration and Pareto optimality. CSV with `Accept: text/csv` or `?format=csv`.',
        tags: ['results'],
        security: SECURITY,
        params: idParams,
        querystring: {
          type: 'object',
          properties: { format: { type: 'string', enum: ['json', 'csv'] } },
        },
        produces: ['application/json', 'text/csv'],
        response: {
          200: {
            description: 'results.json, or results.csv',
            type: 'object',
            additionalProperties: true,
            properties: {
              report: { type: 'object', additionalProperties: true },
              results: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const experiment = await ownedExperiment(deps, request, request.params.id);
      const format = request.query.format ?? (wantsCsv(request.headers.accept) ? 'csv' : 'json');
      if (format === 'csv') {
        const csv = await read(experiment, 'results.csv');
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `inline; filename="${experiment.id}-results.csv"`)
          .serializer((payload: unknown) => payload as string)
          .send(csv.toString('utf8'));
      }
      const json = (await read(experiment, 'results.json')).toString('utf8');
      // Stored JSON passes through untouched (no re-serialisation through the schema), unless
      // it predates the structured dropout.
      const upgraded = json.includes('"dropoutLabel"') ? json : upgradeResults(json);
      return reply
        .type('application/json; charset=utf-8')
        .serializer((payload: unknown) => payload as string)
        .send(upgraded);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/experiments/:id/report',
    {
      schema: {
        summary: 'The HTML report',
        tags: ['results'],
        security: SECURITY,
        params: idParams,
        produces: ['text/html'],
        response: { 200: { description: 'report.html', type: 'string' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const experiment = await ownedExperiment(deps, request, request.params.id);
      const html = await read(experiment, 'report.html');
      return reply
        .type('text/html; charset=utf-8')
        .serializer((payload: unknown) => payload as string)
        .send(html.toString('utf8'));
    },
  );
}

interface LegacyResults {
  report?: { variants?: Array<Record<string, unknown>> };
  results?: Array<{ dropout?: unknown; cell?: { dropout?: DropoutConfig } }>;
}

/**
 * results.json as written before dropouts were structured: variants and results named the label
 * `dropout` (variants also `kind` and `gamma`). Gives them `dropout` as a config and
 * `dropoutLabel`, as the report job writes them now.
 */
export function upgradeResults(json: string): string {
  const stored = JSON.parse(json) as LegacyResults;
  for (const variant of stored.report?.variants ?? []) {
    const label = variant.dropout;
    if (typeof label !== 'string') continue;
    delete variant.kind;
    delete variant.gamma;
    Object.assign(variant, { dropout: parseDropoutLabel(label), dropoutLabel: label });
  }
  for (const result of stored.results ?? []) {
    if (typeof result.dropout !== 'string' || !result.cell?.dropout) continue;
    delete result.dropout;
    Object.assign(result, { dropoutLabel: dropoutLabel(result.cell.dropout) });
  }
  return JSON.stringify(stored);
}

/** Whether an Accept header prefers text/csv over JSON. */
function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  const quality = (type: string) => {
    for (const part of accept.split(',')) {
      const [media, ...params] = part.trim().split(';');
      if (media?.trim().toLowerCase() !== type) continue;
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return q ? Number(q.slice(2)) : 1;
    }
    return 0;
  };
  return quality('text/csv') > 0 && quality('text/csv') >= quality('application/json');
}
