/**
 * What the API returns for its rows, and the JSON schemas of those shapes (registered once with
 * `addSchema`, referenced by routes as `Experiment#` etc., listed in the OpenAPI document).
 * Timestamps are ISO 8601 strings; a dropout is its config (`{kind: 'quantile', gamma: 0.8}`)
 * beside its label (`quantile-0.8`).
 */
import type { Cell as SweepCell } from '@rdlab/core';
import { type DropoutConfig, dropoutKinds, dropoutLabel, dropoutParameters } from '@rdlab/core';
import type { Cell, EvalResult, Experiment, Worker } from '@rdlab/db';
import type { FastifyInstance } from 'fastify';
import { WORKER_ALIVE_MS } from './progress.js';

const iso = (date: Date | null) => (date ? date.toISOString() : null);
const nullable = (type: string, extra: Record<string, unknown> = {}) => ({
  type: [type, 'null'],
  ...extra,
});

const EXPERIMENT_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'partial'];
const CELL_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
const STAGE_STATES = ['waiting', 'active', 'completed', 'failed', 'cancelled'];
const STAGE_KINDS = ['prepare', 'bootstrap', 'train', 'publish', 'report'];

const counts = (keys: readonly string[], description: string) => ({
  type: 'object',
  description,
  required: [...keys],
  properties: Object.fromEntries(keys.map((k) => [k, { type: 'integer' }])),
});

// ─── Experiments ─────────────────────────────────────────────────────────────────────────────

export function experimentView(e: Experiment) {
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    error: e.error,
    cellCount: e.cellCount,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    startedAt: iso(e.startedAt),
    finishedAt: iso(e.finishedAt),
  };
}

const experimentProperties = {
  id: { type: 'string', description: '`e` + 16 hex digits' },
  name: { type: 'string' },
  status: { type: 'string', enum: EXPERIMENT_STATUSES },
  error: nullable('string'),
  cellCount: { type: 'integer' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
  startedAt: nullable('string', { format: 'date-time' }),
  finishedAt: nullable('string', { format: 'date-time' }),
};

const progressSchema = {
  $id: 'Progress',
  type: 'object',
  required: ['status', 'stages', 'cells', 'etaSeconds'],
  properties: {
    status: { type: 'string', enum: EXPERIMENT_STATUSES },
    stages: {
      type: 'object',
      description: 'Stage jobs per kind and state',
      required: STAGE_KINDS,
      properties: Object.fromEntries(
        STAGE_KINDS.map((k) => [k, counts(STAGE_STATES, `${k} jobs by state`)]),
      ),
    },
    cells: counts(CELL_STATUSES, 'Cells by status'),
    etaSeconds: nullable('number', {
      description:
        'Mean completed train-job duration × train jobs left ÷ workers alive; null when unknown',
    }),
  },
};

// ─── Cells ───────────────────────────────────────────────────────────────────────────────────

/** A cell as POST /v1/experiments returns it. */
export function sweepCellView(cell: SweepCell) {
  return {
    id: cell.id,
    dataset: cell.dataset,
    attribute: cell.attribute,
    target: cell.target,
    dropout: cell.dropout,
    dropoutLabel: dropoutLabel(cell.dropout),
    seed: cell.seed,
  };
}

/** A cell's dropout: its kind and the parameters of the registered kinds (one schema for all). */
const dropoutSchema = {
  type: 'object',
  required: ['kind'],
  description: 'the dropout as stored: its kind and that kind’s parameters',
  properties: {
    kind: { type: 'string', enum: dropoutKinds() },
    ...Object.fromEntries(
      dropoutKinds()
        .flatMap((kind) => dropoutParameters(kind))
        .map(([name, p]) => [name, { type: p.type, description: p.description }]),
    ),
  },
};

const sweepCellProperties = {
  id: { type: 'string', description: 'content id: `c` + 16 hex digits' },
  dataset: { type: 'string' },
  attribute: { type: 'string' },
  target: { type: 'string' },
  dropout: dropoutSchema,
  dropoutLabel: {
    type: 'string',
    description: '`none`, `random-0.8`, `quantile-0.95`, …: for display, never parsed',
  },
  seed: { type: 'integer' },
};

/** An experiment's evaluations by cell id, for {@link cellView}. */
export function resultsByCell(results: readonly EvalResult[]): Map<string, EvalResult[]> {
  const byCell = new Map<string, EvalResult[]>();
  for (const result of results) {
    const list = byCell.get(result.cellId);
    if (list) list.push(result);
    else byCell.set(result.cellId, [result]);
  }
  return byCell;
}

/** A cell with its status and headline results (GET /v1/experiments/:id/cells). */
export function cellView(cell: Cell, mine: readonly EvalResult[]) {
  const start = mine.find((r) => r.epoch === 0);
  const latest = mine.reduce<EvalResult | undefined>(
    (best, r) => (best === undefined || r.epoch > best.epoch ? r : best),
    undefined,
  );
  return {
    id: cell.id,
    index: cell.index,
    dataset: cell.dataset,
    attribute: cell.attribute,
    target: cell.target,
    // The config is what the row stores; the label column is its display form.
    dropout: cell.dropoutConfig as DropoutConfig,
    dropoutLabel: cell.dropout,
    seed: cell.seed,
    status: cell.status,
    epochsDone: cell.epochsDone,
    start: start ? { acc: start.acc, reward: start.reward } : null,
    latest: latest ? { epoch: latest.epoch, acc: latest.acc, reward: latest.reward } : null,
  };
}

const point = (withEpoch: boolean) => ({
  type: ['object', 'null'],
  properties: {
    ...(withEpoch ? { epoch: { type: 'integer' } } : {}),
    acc: nullable('number'),
    reward: nullable('number'),
  },
});

// ─── Workers ─────────────────────────────────────────────────────────────────────────────────

export function workerView(worker: Worker, now = Date.now()) {
  return {
    id: worker.id,
    backend: worker.backend,
    hostname: worker.hostname,
    currentJob: worker.currentJob,
    startedAt: iso(worker.startedAt),
    lastHeartbeatAt: iso(worker.lastHeartbeatAt),
    alive: now - worker.lastHeartbeatAt.getTime() <= WORKER_ALIVE_MS,
  };
}

// ─── Schemas ─────────────────────────────────────────────────────────────────────────────────

export const schemas = [
  {
    $id: 'Experiment',
    type: 'object',
    required: Object.keys(experimentProperties),
    properties: experimentProperties,
  },
  progressSchema,
  {
    $id: 'ExperimentDetail',
    type: 'object',
    required: [...Object.keys(experimentProperties), 'progress', 'spec'],
    properties: {
      ...experimentProperties,
      progress: { $ref: 'Progress#' },
      spec: {
        type: 'object',
        additionalProperties: true,
        description: 'The validated sweep spec, every default filled in',
      },
    },
  },
  {
    $id: 'SweepCell',
    type: 'object',
    required: Object.keys(sweepCellProperties),
    properties: sweepCellProperties,
  },
  {
    $id: 'CellSummary',
    type: 'object',
    properties: {
      ...sweepCellProperties,
      index: { type: 'integer' },
      status: { type: 'string', enum: CELL_STATUSES },
      epochsDone: { type: 'integer' },
      start: { ...point(false), description: 'Evaluation before training (epoch 0)' },
      latest: { ...point(true), description: 'The latest evaluation' },
    },
  },
  {
    $id: 'SweepPlan',
    type: 'object',
    additionalProperties: true,
    description:
      'The compute plan (planSweep of @rdlab/plan): cells, shards, samples, training steps, stages, and estimates per backend (seconds per stage and total)',
  },
  {
    $id: 'Worker',
    type: 'object',
    properties: {
      id: { type: 'string' },
      backend: { type: 'string' },
      hostname: { type: 'string' },
      currentJob: nullable('string'),
      startedAt: { type: 'string', format: 'date-time' },
      lastHeartbeatAt: { type: 'string', format: 'date-time' },
      alive: { type: 'boolean', description: `heartbeat within ${WORKER_ALIVE_MS / 1000} s` },
    },
  },
];

export function addViewSchemas(app: FastifyInstance): void {
  for (const schema of schemas) app.addSchema(schema);
}
