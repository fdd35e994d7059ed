/**
 * @rdlab/pipeline: the stages of reward-dropout RLHF as functions over ports (artifact store,
 * metrics sink, progress), run in-process by `rdlab run --local` and, one stage per job, by the
 * workers.
 *
 * ```ts
 * import { parseSweepSpec } from '@rdlab/core';
 * import { LocalDirectoryStore } from '@rdlab/store';
 * import { MemoryMetrics, newCounters, runSweep, silentProgress } from '@rdlab/pipeline';
 *
 * const { spec, cells } = parseSweepSpec(yamlText);
 * const ctx = { store: new LocalDirectoryStore('.rdlab/artifacts'), metrics: new MemoryMetrics(), progress: silentProgress, baseDir: '.', workDir: '.rdlab/tmp', counters: newCounters() };
 * const { results } = await runSweep(ctx, spec, cells);
 * ```
 */

export { type BertReward, prepareBertReward, RewardModelError } from './bert-reward.js';
export {
  planShards,
  runShard,
  sampleBehavior,
  trainingPrefixes,
} from './bootstrap.js';
export { checkpointIdentity } from './checkpoint-identity.js';
export { buildEvalSet } from './eval-set.js';
export { type EvalExample, type EvalResult, type EvalSet, evaluateTarget } from './evaluate.js';
export { type GeneratedRow, generateRows } from './generate-rows.js';
export {
  MemoryMetrics,
  type MetricPoint,
  type MetricsSink,
  newCounters,
  type Progress,
  type ProgressTask,
  type StageContext,
  silentProgress,
  type WorkCounters,
} from './ports.js';
export { disposePrepared, type PreparedDataset, prepare } from './prepare.js';
export {
  bootstrapMean,
  buildReport,
  type Comparison,
  type Interval,
  resultsCsv,
  type Stat,
  type SweepReport,
  tableMarkdown,
  type VariantSummary,
  type Verdict,
  verdictOf,
} from './report.js';
export { renderReportHtml } from './report-html.js';
export {
  encodeText,
  retokenize,
  type TargetTokens,
  targetTokensOf,
  tokenizerIdentity,
} from './retokenize.js';
export { bertInput, type RewardTextInput, rewardLogits } from './reward-scorer.js';
export { type DatasetSummary, runSweep, type SweepRun } from './run-sweep.js';
export {
  type BehaviorSample,
  decodeShard,
  encodeShard,
  SHARD_FORMAT_VERSION,
} from './shard-file.js';
export {
  CellSettingsError,
  cellResult,
  findCell,
  PreparedCache,
  prepareJob,
  reportJob,
  shardJob,
  storedCell,
  trainJob,
} from './stage-jobs.js';
export { loadCheckpointTokenizer, sameTokenizer, targetTokenizer } from './tokenizers.js';
export { type CellResult, type EpochRecord, epochSamples, trainCell } from './train.js';
