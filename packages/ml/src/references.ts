/**
 * `@rdlab/ml/references`: a spec's model references checked before anything is stored, with the
 * spec field's path — config.json, safetensors headers and tokenizer vocabularies only, never the
 * weights. A light entry point: no tfjs, no tokenizer library, no Arrow (the API imports it; see
 * references.test.ts for the import boundary).
 *
 * ```ts
 * const { problems, unchecked } = await checkSpecReferences(spec, { baseDir });
 * if (problems.length > 0) throw new SpecError(problems);
 * ```
 */
import { DATASET_FORMATS, resolveDataset, type SpecProblem, type SweepSpec } from '@rdlab/core';
import { checkBertReference } from './checkpoint/check-bert-reference.js';
import {
  checkDecoderReference,
  isRemoteReference,
  isUnreachable,
  localReferencePath,
  type ReferenceCheck,
  type ReferenceCheckOptions,
  remoteTokenizerVocabSize,
  tokenizerVocabSize,
} from './checkpoint/check-reference.js';

export {
  type BertReferenceCheck,
  checkBertReference,
} from './checkpoint/check-bert-reference.js';
export {
  checkDecoderReference,
  isRemoteReference,
  type ReferenceCheck,
  type ReferenceCheckOptions,
  tokenizerVocabSize,
} from './checkpoint/check-reference.js';

export interface SpecReferenceCheck {
  problems: SpecProblem[];
  /** References not read (unreachable, in a best-effort check), each with its path. */
  unchecked: Array<{ path: string; reason: string }>;
}

/**
 * Checks `behavior.model.checkpoint`, `behavior.tokenizer.checkpoint`, every
 * `targets[i].model.checkpoint` and `rewardModel.model.checkpoint`. A target without a tokenizer
 * of its own reads β's: β's must then fit its vocabulary.
 */
export async function checkSpecReferences(
  spec: SweepSpec,
  options: ReferenceCheckOptions = {},
): Promise<SpecReferenceCheck> {
  const problems: SpecProblem[] = [];
  const unchecked: SpecReferenceCheck['unchecked'] = [];
  const cache = new Map<string, Promise<ReferenceCheck>>();
  const check = (ref: string) => {
    let job = cache.get(ref);
    if (!job) {
      job = checkDecoderReference(ref, options);
      cache.set(ref, job);
    }
    return job;
  };
  const model = async (ref: string, path: string) => {
    const result = await check(ref);
    if (result.unchecked) unchecked.push({ path, reason: result.unchecked });
    for (const message of result.problems) problems.push({ path, value: ref, message });
    return result;
  };

  let behaviorVocab: number | null = null;
  const behaviorRef = spec.behavior.model.checkpoint;
  if (behaviorRef !== undefined) {
    const beta = await model(behaviorRef, '/behavior/model/checkpoint');
    behaviorVocab = beta.tokenizerVocabSize;
  }
  const tokenizerRef = spec.behavior.tokenizer.checkpoint;
  if (tokenizerRef !== undefined) {
    const path = '/behavior/tokenizer/checkpoint';
    const remote = isRemoteReference(tokenizerRef);
    let reachable = true;
    const vocab = await (remote
      ? remoteTokenizerVocabSize(tokenizerRef, options)
      : tokenizerVocabSize(localReferencePath(tokenizerRef, options.baseDir))
    ).catch((error: Error) => {
      if (remote && options.bestEffort && isUnreachable(error)) {
        reachable = false;
        unchecked.push({ path, reason: `${tokenizerRef} is unreachable: ${error.message}` });
      } else problems.push({ path, value: tokenizerRef, message: error.message });
      return null;
    });
    if (reachable) {
      if (vocab === null && !problems.some((p) => p.path === path))
        problems.push({
          path,
          value: tokenizerRef,
          message: 'has neither tokenizer.json nor vocab.json',
        });
      behaviorVocab = vocab ?? behaviorVocab;
      const betaConfig = behaviorRef !== undefined ? (await check(behaviorRef)).config : null;
      if (vocab !== null && betaConfig && vocab > betaConfig.vocab_size)
        problems.push({
          path,
          value: tokenizerRef,
          message: `has ${vocab} tokens, more than β's vocab_size ${betaConfig.vocab_size}`,
        });
    }
  }
  for (const [i, target] of spec.targets.entries()) {
    const ref = target.model?.checkpoint;
    if (ref === undefined) continue;
    const path = `/targets/${i}/model/checkpoint`;
    const result = await model(ref, path);
    // π reads β's tokenizer when it has none of its own: β's ids must fit π's embedding.
    if (
      result.config &&
      result.tokenizerVocabSize === null &&
      behaviorVocab !== null &&
      behaviorVocab > result.config.vocab_size
    )
      problems.push({
        path,
        value: ref,
        message: `has no tokenizer of its own, and β's (${behaviorVocab} tokens) does not fit its vocab_size ${result.config.vocab_size}`,
      });
  }
  await checkRewardReference(spec, options, problems, unchecked);
  return { problems, unchecked };
}

/**
 * `rewardModel.model.checkpoint`: a BERT folder (an rdlab CNN checkpoint is loaded as it is). A
 * head it has must have as many labels as every dataset has classes; `finetune: false` needs one.
 */
async function checkRewardReference(
  spec: SweepSpec,
  options: ReferenceCheckOptions,
  problems: SpecProblem[],
  unchecked: SpecReferenceCheck['unchecked'],
): Promise<void> {
  const ref = spec.rewardModel.model.checkpoint;
  if (ref === undefined) return;
  const path = '/rewardModel/model/checkpoint';
  const result = await checkBertReference(ref, options);
  if (result.unchecked) unchecked.push({ path, reason: result.unchecked });
  for (const message of result.problems) problems.push({ path, value: ref, message });
  if (result.cnn || result.config === null || result.problems.length > 0) return;
  if (!result.hasHead) {
    if (spec.rewardModel.finetune === false)
      problems.push({
        path,
        value: ref,
        message: "has no classifier head to score with: drop 'finetune: false' to fine-tune one",
      });
    return;
  }
  const labels = result.config.num_labels;
  for (const dataset of spec.datasets) {
    const resolved = resolveDataset(dataset);
    const table = DATASET_FORMATS[resolved.format].attributes;
    const classes = table === null ? resolved.attributes : Object.keys(table);
    if (classes.length !== labels)
      problems.push({
        path,
        value: ref,
        message: `its classifier head has num_labels ${labels}; dataset '${dataset.name}' has ${classes.length} classes (${classes.join(', ')}): give a checkpoint without a head, or one fine-tuned on these classes`,
      });
  }
}
