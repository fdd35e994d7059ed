/**
 * @rdlab/plan: what a sweep costs and where its artifacts live, without the ML engine. The
 * compute plan (`planSweep`, `formatPlan`, the throughput table) and every artifact key. It
 * imports `@rdlab/core` only (no `@rdlab/ml`, tfjs or Apache Arrow), so the API and the
 * scheduler import this and not `@rdlab/pipeline`, and start without loading the engine.
 *
 * ```ts
 * import { parseSweepSpec } from '@rdlab/core';
 * import { formatPlan, manifestKey, planSweep } from '@rdlab/plan';
 *
 * const { spec, cells } = parseSweepSpec(yamlText);
 * console.log(formatPlan(planSweep(spec, cells)));
 * const key = manifestKey(spec, spec.datasets[0].name); // where prepare leaves its manifest
 * ```
 */
export {
  behaviorKey,
  bertRewardKey,
  cellPrefix,
  cellResultKey,
  datasetContent,
  datasetOf,
  evalSetKey,
  experimentPrefix,
  manifestKey,
  type PreparedManifest,
  prefixesKey,
  resultsKey,
  rewardKey,
  type ShardPlan,
  samplingContent,
  shardKey,
  specKeyOf,
  tokenizerKey,
} from './keys.js';
export {
  BEHAVIOR_WEIGHT_BYTES,
  type CellMemory,
  cellMemory,
  engineRuns,
  GIB,
  lastBlockParameterCount,
  type MemoryEngine,
  memoryEngineOf,
  memoryProblems,
} from './memory.js';
export {
  type BackendEstimate,
  PLAN_STAGES,
  type PlannedModel,
  type PlanStage,
  planSweep,
  presetFromName,
  type StagePlan,
  type SweepPlan,
  type WorkFlops,
} from './plan.js';
export {
  type FormatPlanOptions,
  formatDuration,
  formatPlan,
  secondsOnWorkers,
} from './plan-format.js';
export {
  bertForwardFlopsPerToken,
  bertParameterCount,
  type RewardCost,
  type RewardFamily,
  rewardCost,
} from './reward-cost.js';
export {
  type Measurement,
  parseThroughputRows,
  THROUGHPUTS,
  type Throughput,
  withThroughputs,
} from './throughputs.js';
