/**
 * The shapes the API answers with (apps/api/README.md), as far as the dashboard reads them. The
 * dashboard talks HTTP only: nothing here is imported from the server packages.
 */

export type ExperimentStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'partial';
export type CellStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const STAGE_KINDS = ['prepare', 'bootstrap', 'train', 'publish', 'report'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

export interface StageCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface Progress {
  status: ExperimentStatus;
  stages: Record<StageKind, StageCounts>;
  cells: Record<CellStatus, number>;
  /** null until a train job completed or while no worker is alive; 0 once finished. */
  etaSeconds: number | null;
}

export interface Experiment {
  id: string;
  name: string;
  status: ExperimentStatus;
  error: string | null;
  cellCount: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ExperimentDetail extends Experiment {
  progress: Progress;
  /** The validated spec, every default filled in. */
  spec: SpecView;
}

/** The parts of a resolved sweep spec the dashboard reads. */
export interface SpecView {
  name?: string;
  description?: string;
  training?: { epochs?: number };
  [key: string]: unknown;
}

export interface ExperimentPage {
  items: Experiment[];
  nextCursor: string | null;
}

export interface AccReward {
  acc: number | null;
  reward: number | null;
}

export interface CellSummary {
  id: string;
  index: number;
  dataset: string;
  attribute: string;
  target: string;
  /** The dropout as stored: its kind and that kind's parameters. */
  dropout: DropoutConfig;
  /** Its label, for display and as a row key (never parsed): `quantile-0.95`. */
  dropoutLabel: string;
  seed: number;
  status: CellStatus;
  epochsDone: number;
  /** Epoch 0: the target before training. */
  start: AccReward | null;
  latest: (AccReward & { epoch: number }) | null;
}

export interface MetricPoint {
  step: number;
  epoch: number;
  value: number;
}

export interface CellMetrics {
  experimentId: string;
  cellId: string;
  series: Record<string, MetricPoint[]>;
}

import type { DropoutConfig } from '@rdlab/core';

// A dropout's shape is core's registry's own (type-only, as below).
export type { DropoutConfig } from '@rdlab/core';

// The report's shapes are the pipeline's own (type-only: nothing of it reaches the bundle).
export type {
  Comparison,
  Interval,
  Stat,
  SweepReport as Report,
  VariantSummary as ReportVariant,
  Verdict,
} from '@rdlab/pipeline';

export interface GeneratedExample {
  prefix: string;
  generation: string;
  reference: string;
  acc: number;
  reward: number;
}

/** One cell's entry of `results.json`'s `results` (what the dashboard reads of it). */
export interface CellResult {
  cell: {
    id: string;
    dataset: string;
    attribute: string;
    target: string;
    seed: number;
    dropout: DropoutConfig;
  };
  dropoutLabel: string;
  start: { acc: number; reward: number; examples?: GeneratedExample[] };
  final: { acc: number; reward: number; examples?: GeneratedExample[] };
}

export interface Results {
  report: import('@rdlab/pipeline').SweepReport;
  results: CellResult[];
}

export interface SpecProblem {
  /** A JSON pointer into the spec: `/dropout/2/gamma`. */
  path: string;
  value?: unknown;
  message: string;
}

export interface BackendEstimate {
  backend: string;
  reference?: boolean;
  machine?: string;
  seconds: Record<string, number | null>;
  totalSeconds: number | null;
  lowerBound: boolean;
}

export interface StagePlan {
  stage: string;
  jobs: number;
  flops: number | null;
  lowerBound: boolean;
  note?: string;
}

export interface SweepPlan {
  name: string;
  cells: number;
  datasets?: number;
  attributes?: number;
  shards: number;
  samples: number;
  trainingSteps: number;
  trainingTokens?: number;
  evaluations: number;
  stages: StagePlan[];
  estimates: BackendEstimate[];
  assumptions?: string[];
}

export interface SweepCellView {
  id: string;
  dataset: string;
  attribute: string;
  target: string;
  dropout: DropoutConfig;
  dropoutLabel: string;
  seed: number;
}

export interface Submitted {
  dryRun?: boolean;
  id?: string;
  status?: ExperimentStatus;
  cells: SweepCellView[];
  plan: SweepPlan;
}

export interface WorkerView {
  id: string;
  backend: string;
  hostname: string;
  currentJob: string | null;
  startedAt: string;
  lastHeartbeatAt: string;
  alive: boolean;
}

export interface QueueCounts {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  failed: number;
  completed: number;
  depth: number;
}

export const FINISHED: readonly ExperimentStatus[] = [
  'succeeded',
  'failed',
  'cancelled',
  'partial',
];

export const isFinished = (status: ExperimentStatus): boolean => FINISHED.includes(status);
