/**
 * The sweep-spec language: every setting of the paper's experiments, with its default.
 *
 * A spec is a grid: datasets × attributes × targets × dropout variants × seeds. Each field below
 * carries its unit and default; defaults follow the paper (§5 "Hyperparameters", §6) and the
 * authors' released code where the paper is silent (see docs/design.md, "The method").
 */
import { z } from 'zod';
import { DATASET_FORMAT_NAMES, DATASET_FORMATS, NEWS_TEXT_FIELDS } from '../datasets.js';
import { CLASSIFIER_PRESET_NAMES, LM_PRESET_NAMES } from '../models.js';
import { IMPORTANCE_WEIGHT_CLIPS } from '../objective/importance.js';
import { LIKELIHOOD_KINDS } from '../objective/likelihood.js';
import { OBJECTIVES, REWARD_SIGNALS } from '../objective/reward.js';
import { didYouMean } from './did-you-mean.js';
import { dropoutEntrySchema } from './dropout-entry.js';
import { strict } from './known-keys.js';

/** A refinement: the object names exactly one of two alternatives. */
function exactlyOneOf(a: string, b: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const count = Number(value[a] !== undefined) + Number(value[b] !== undefined);
    if (count !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        input: value,
        message: `give exactly one of '${a}' or '${b}'`,
      });
    }
  };
}

const positiveInt = () => z.number().int().min(1);
const positive = () => z.number().gt(0);
const nonEmpty = () => z.string().min(1);

/** A model to train from a preset or to load from a checkpoint (a directory, file://, s3://). */
const lmModel = strict({
  preset: z.enum(LM_PRESET_NAMES).optional(),
  checkpoint: nonEmpty().optional(),
}).superRefine(exactlyOneOf('preset', 'checkpoint'));

const pretraining = strict({
  /** Passes over the training sentences. @defaultValue 3 */
  epochs: positiveInt().default(3),
  /** Adam learning rate. @defaultValue 1e-3 */
  learningRate: positive().default(1e-3),
  /** Sentences per step. @defaultValue 64 */
  batchSize: positiveInt().default(64),
  /** Training sentences per attribute; 0 means all of them. @defaultValue 0 */
  sentencesPerAttribute: z.number().int().min(0).default(0),
});

export const datasetSchema = strict({
  /** A label for reports and cell tables. */
  name: nonEmpty(),
  /** A directory or file path, `file://…`, `s3://bucket/key`, `https://…`, or `builtin:demo`. */
  source: nonEmpty(),
  /** File layout; may be left out for `builtin:` sources. */
  format: z.enum(DATASET_FORMAT_NAMES).optional(),
  /** Attributes (class names) to steer towards; one cell row per attribute. */
  attributes: z.array(nonEmpty()).min(1),
  /** Split the behaviour LM, reward model and bootstrap prefixes come from. @defaultValue 'train' */
  trainSplit: nonEmpty().default('train'),
  /** Split of the held-out evaluation prefixes. @defaultValue the format's (dev or test) */
  evalSplit: nonEmpty().optional(),
  /**
   * agnews-csv only: which text is a sentence. `sentence`: the description's first sentence
   * (source tag removed); `title`; `description`; `title+description`. @defaultValue 'sentence'
   */
  text: z.enum(NEWS_TEXT_FIELDS).optional(),
}).superRefine((dataset, ctx) => {
  const builtin = dataset.source.startsWith('builtin:');
  if (builtin && dataset.source !== 'builtin:demo') {
    ctx.addIssue({
      code: 'custom',
      path: ['source'],
      input: dataset.source,
      message: "the only builtin dataset is 'builtin:demo'",
    });
  }
  if (!builtin && dataset.format === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['format'],
      input: undefined,
      message: `is required for file sources: one of ${DATASET_FORMAT_NAMES.join(', ')}`,
    });
  }
  if (dataset.text !== undefined && dataset.format !== 'agnews-csv') {
    ctx.addIssue({
      code: 'custom',
      path: ['text'],
      input: dataset.text,
      message: 'applies to agnews-csv datasets only',
    });
  }
  const format = dataset.format ?? (builtin ? 'builtin' : undefined);
  const table = format === undefined ? null : DATASET_FORMATS[format].attributes;
  const seen = new Set<string>();
  dataset.attributes.forEach((attribute, i) => {
    if (seen.has(attribute))
      ctx.addIssue({
        code: 'custom',
        path: ['attributes', i],
        input: attribute,
        message: 'is listed twice',
      });
    seen.add(attribute);
    if (table !== null && !(attribute in table)) {
      const allowed = Object.keys(table);
      const guess = didYouMean(attribute, allowed);
      ctx.addIssue({
        code: 'custom',
        path: ['attributes', i],
        input: attribute,
        message: `is not an attribute of ${format}: one of ${allowed.map((a) => `'${a}'`).join(', ')}${guess ? `; did you mean '${guess}'?` : ''}`,
      });
    }
  });
});

export const behaviorSchema = strict({
  /** @defaultValue { preset: 'small' } */
  model: lmModel.default({ preset: 'small' }),
  /** BPE vocabulary trained on the dataset for presets, or a tokenizer checkpoint. */
  tokenizer: strict({ checkpoint: nonEmpty().optional() }).prefault({}),
  /** How β is pretrained on the training split when no checkpoint is given. */
  training: pretraining.prefault({}),
});

/**
 * How a BERT reward model is fine-tuned from its pretrained checkpoint, per dataset: the authors'
 * `code/finetune_BERT.py` with its settings in `params/<dataset>/bert` (CHLEE-Leo/Reward-Dropout, as issue
 * 21 reports them; the repository could not be read here).
 */
export const rewardFinetuneSchema = strict({
  /**
   * Most passes over the training split; early stopping usually ends it sooner. The authors' cap
   * is not in what issue 21 reports: rdlab chose 100. @defaultValue 100
   */
  epochs: positiveInt().default(100),
  /** Adam learning rate (`finetune_BERT.py`, `params/<dataset>/bert`). @defaultValue 5e-6 */
  learningRate: positive().default(5e-6),
  /** Sentences per step (`params/<dataset>/bert`). @defaultValue 256 */
  batchSize: positiveInt().default(256),
  /**
   * Epochs without a better held-out accuracy before stopping; the best epoch's weights are kept
   * (`finetune_BERT.py`'s early stopping). @defaultValue 5
   */
  patience: positiveInt().default(5),
  /**
   * WordPiece tokens per input, [CLS] and [SEP] included; longer texts are cut. The authors pass
   * `--max_len` on the command line (its value is not in their repository). rdlab chose 64: β's
   * samples are at most `training.maxLength` (30) tokens, which WordPiece splits into about as
   * many (≤ 1.5×) plus two specials, so 64 scores every sample whole, and the rare longer
   * training sentence loses only its tail. @defaultValue 64
   */
  maxLength: z.number().int().min(3).max(512).default(64),
  /** Training sentences per attribute; 0 means all of them. @defaultValue 0 */
  sentencesPerAttribute: z.number().int().min(0).default(0),
  /** Seed of the shuffle, the head's init and the dropout masks. @defaultValue 0 */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
});

export type RewardFinetune = z.output<typeof rewardFinetuneSchema>;

export const rewardModelSchema = strict({
  /**
   * A CNN preset trained on the dataset (`training`), or a checkpoint: a Hugging Face BERT folder
   * (local, `s3://`, `https://`; fine-tuned per dataset by `finetune`), or an rdlab CNN
   * checkpoint (a folder with classifier.json, loaded as it is). @defaultValue { preset: 'cnn' }
   */
  model: strict({
    preset: z.enum(CLASSIFIER_PRESET_NAMES).optional(),
    checkpoint: nonEmpty().optional(),
  })
    .superRefine(exactlyOneOf('preset', 'checkpoint'))
    .default({ preset: 'cnn' }),
  /** How a CNN preset is trained on the training split. */
  training: pretraining.prefault({}),
  /**
   * BERT checkpoints only: how R is fine-tuned per dataset, or `false` to score with the
   * checkpoint's own head as it is. @defaultValue the authors' recipe (see {@link rewardFinetuneSchema})
   */
  finetune: z.union([z.literal(false), rewardFinetuneSchema]).optional(),
})
  .superRefine((reward, ctx) => {
    if (reward.finetune !== undefined && reward.model.preset !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['finetune'],
        input: reward.finetune,
        message: `applies to BERT checkpoints; preset '${reward.model.preset}' is trained by 'training'`,
      });
  })
  // Filled for checkpoints only: preset specs keep the exact settings, hence cell ids, they had.
  .transform((reward) =>
    reward.model.checkpoint !== undefined && reward.finetune === undefined
      ? { ...reward, finetune: rewardFinetuneSchema.parse({}) }
      : reward,
  );

export const TARGET_INITS = ['behavior', 'random', 'pretrained'] as const;
export type TargetInit = (typeof TARGET_INITS)[number];

export const targetSchema = strict({
  /** A label; defaults to the preset or checkpoint name, with the init when not `behavior`. */
  name: nonEmpty().optional(),
  /** Defaults to the behaviour model's architecture. */
  model: lmModel.optional(),
  /**
   * `behavior`: start from β's weights (the paper's usual setup); `random`: fresh weights
   * (Figure 3a); `pretrained`: the weights of `model.checkpoint` (Figure 3b).
   * @defaultValue 'behavior'
   */
  init: z.enum(TARGET_INITS).default('behavior'),
  /**
   * Train only the last block and the final LayerNorm (Table 2, models of 1B+).
   * @defaultValue true for OPT-6.7B and XGLM-1.7B (see `freezesByDefault`), else false
   */
  freezeAllButLastBlock: z.boolean().optional(),
}).superRefine((target, ctx) => {
  if (target.init === 'pretrained' && target.model?.checkpoint === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['model'],
      input: target.model,
      message: "init 'pretrained' needs model.checkpoint: the weights to start from",
    });
  }
});

/** Where β̄'s token probabilities come from (see `training.behaviorProbabilities`). */
export const BEHAVIOR_PROBABILITIES = ['sampling', 'model'] as const;
export type BehaviorProbabilities = (typeof BEHAVIOR_PROBABILITIES)[number];

export const SAMPLES_PER_EPOCH = ['one', 'all'] as const;
export type SamplesPerEpoch = (typeof SAMPLES_PER_EPOCH)[number];

export const trainingSchema = strict({
  /** Samples per update. @defaultValue 64 */
  batchSize: positiveInt().default(64),
  /** Passes over the bootstrapped samples. @defaultValue 5 */
  epochs: positiveInt().default(5),
  /** Adam learning rate (the authors' README says 5e-6; the paper 5e-5). @defaultValue 5e-5 */
  learningRate: positive().default(5e-5),
  /** Prefix tokens p given to β (Algorithm 1). @defaultValue 4 */
  prefixLength: positiveInt().default(4),
  /** Total tokens T, prefix included; longer sentences are dropped. @defaultValue 30 */
  maxLength: positiveInt().default(30),
  /** Behaviour sampling temperature (the authors' sampling script used 1.0). @defaultValue 0.4 */
  temperature: positive().default(0.4),
  /** Behaviour sampling top-k; 0 keeps the whole vocabulary. @defaultValue 0 */
  topK: z.number().int().min(0).default(0),
  /** CTRL-style repetition penalty for behaviour sampling; 1 is off (the authors' script: 1.2). @defaultValue 1.0 */
  repetitionPenalty: z.number().min(1).default(1.0),
  /** Importance-weight clipping: batch L2 norm (`norm`) or per sample (`sample`). @defaultValue { kind: 'norm', bound: 1 } */
  importanceWeightClip: strict({
    kind: z.enum(IMPORTANCE_WEIGHT_CLIPS).default('norm'),
    bound: positive().default(1.0),
  }).prefault({}),
  /** β̄ and π̄: mean token probability or geometric mean. @defaultValue 'mean' */
  likelihood: z.enum(LIKELIHOOD_KINDS).default('mean'),
  /**
   * Which probabilities of β make β̄: `sampling`, those of the distribution the token was drawn
   * from (after repetition penalty, temperature and top-k: Hugging Face `output_scores`, as the
   * authors' `prepare_trajectories.py:395-452`), or `model`, β's own. @defaultValue 'sampling'
   */
  behaviorProbabilities: z.enum(BEHAVIOR_PROBABILITIES).default('sampling'),
  /** R(τ) in training: the attribute's raw logit or its probability. @defaultValue 'logit' */
  rewardSignal: z.enum(REWARD_SIGNALS).default('logit'),
  /**
   * The multiplier of a kept sample's cross-entropy: `total`, ℜ = r − ln π̄ (Eq. 7; the authors'
   * `RLHF_train.py:415`), or `bi-objective`, r itself (Algorithm 1 read literally). Dropout is
   * decided on r either way. @defaultValue 'total'
   */
  objective: z.enum(OBJECTIVES).default('total'),
  /** Global gradient-norm clip; 0 is off (the authors' code clips nothing). @defaultValue 0 */
  gradientClipNorm: z.number().min(0).default(0),
  /**
   * `one`: epoch e trains once on the e-th sample of every prefix (mod K), one generation file
   * per epoch as in the authors' `RLHF_train.py:999-1005`; `all`: every sample every epoch.
   * @defaultValue 'one'
   */
  samplesPerEpoch: z.enum(SAMPLES_PER_EPOCH).default('one'),
  /**
   * Drop an epoch's short last batch, whose quantile and clipping would see fewer samples (the
   * authors' `batch(drop_remainder=True)`, `RLHF_train.py:1080`). @defaultValue true
   */
  dropLastBatch: z.boolean().default(true),
}).superRefine((training, ctx) => {
  if (training.prefixLength >= training.maxLength) {
    ctx.addIssue({
      code: 'custom',
      path: ['prefixLength'],
      input: training.prefixLength,
      message: `must be less than maxLength (${training.maxLength}): β needs room to generate`,
    });
  }
});

export const bootstrapSchema = strict({
  /** Training prefixes drawn per attribute (§6: 50k). @defaultValue 50000 */
  prefixesPerAttribute: positiveInt().default(50_000),
  /** Behaviour samples per prefix (§6: 10). @defaultValue 10 */
  samplesPerPrefix: positiveInt().default(10),
  /** Prefixes per shard: one bootstrap job samples one shard. @defaultValue 5000 */
  shardSize: positiveInt().default(5_000),
  /**
   * Seed of prefix selection and behaviour sampling. Cell seeds do not change it, so every seed
   * of a sweep trains on the same samples (as the paper's single bootstrap). @defaultValue 0
   */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
});

export const EVALUATION_METRICS = [
  'acc',
  'reward',
  'token-accuracy',
  'bleu',
  'rouge',
  'meteor',
  'distinct',
] as const;
export type EvaluationMetric = (typeof EVALUATION_METRICS)[number];

export const evaluationSchema = strict({
  /** Held-out prefixes π generates from. @defaultValue 500 */
  prefixes: positiveInt().default(500),
  /** Greedy decoding or sampling at `temperature`. @defaultValue 'greedy' */
  decoding: z.enum(['greedy', 'sample']).default('greedy'),
  /** For `sample` decoding. @defaultValue 1.0 */
  temperature: positive().default(1.0),
  /** @defaultValue all */
  metrics: z
    .array(z.enum(EVALUATION_METRICS))
    .min(1)
    .default([...EVALUATION_METRICS]),
  /** Generated examples kept per cell. @defaultValue 5 */
  examples: z.number().int().min(0).default(5),
  /**
   * Training samples of each epoch on which the authors'-style metrics are measured (their table
   * script: teacher-forced token accuracy against β's samples, Reward of greedy generations from
   * training prefixes); 0 skips them. @defaultValue 256
   */
  trainingSamples: z.number().int().min(0).default(256),
});

export const DEFAULT_MAX_CELLS = 1000;

export const sweepSpecSchema = strict({
  /** Spec format version. @defaultValue 1 */
  version: z.literal(1).default(1),
  /** A name for the sweep (reports, the API). */
  name: nonEmpty().default('sweep'),
  description: z.string().optional(),
  datasets: z.array(datasetSchema).min(1),
  behavior: behaviorSchema.prefault({}),
  rewardModel: rewardModelSchema.prefault({}),
  /** @defaultValue one target: β's architecture, initialised from β */
  targets: z.array(targetSchema).min(1).prefault([{}]),
  /** Dropout variants: each entry names a kind of the dropout registry and its parameters. */
  dropout: z.array(dropoutEntrySchema).min(1),
  training: trainingSchema.prefault({}),
  bootstrap: bootstrapSchema.prefault({}),
  evaluation: evaluationSchema.prefault({}),
  /** Seeds; each is a separate cell. @defaultValue [1] */
  seeds: z
    .array(
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1),
    )
    .min(1)
    .superRefine((seeds, ctx) => {
      seeds.forEach((seed, i) => {
        if (seeds.indexOf(seed) !== i)
          ctx.addIssue({ code: 'custom', path: [i], input: seed, message: 'is listed twice' });
      });
    })
    .default([1]),
  limits: strict({
    /** Refuse sweeps that expand to more cells. @defaultValue 1000 */
    maxCells: positiveInt().default(DEFAULT_MAX_CELLS),
    /**
     * Memory of one worker in GiB (host RAM for the CPU engines, GPU memory for CUDA): the plan
     * refuses a cell whose models do not fit it on any engine. Unset: nothing is refused.
     */
    workerMemoryGiB: positive().optional(),
  }).prefault({}),
});

/** A spec as written (defaults may be missing). */
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;
/** A spec with every default filled in. */
export type SweepSpec = z.output<typeof sweepSpecSchema>;
export type DatasetSpec = SweepSpec['datasets'][number];
export type TargetSpec = SweepSpec['targets'][number];
export type TrainingSpec = SweepSpec['training'];
export type BootstrapSpec = SweepSpec['bootstrap'];
export type EvaluationSpec = SweepSpec['evaluation'];
export type LmModelRef = z.output<typeof lmModel>;
