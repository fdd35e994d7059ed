/**
 * R's logits for β's token sequences. The CNN reads β's ids as they are (it was trained on β's
 * tokenizer); a BERT R reads text: β's ids are decoded with β's tokenizer and re-encoded with R's
 * own WordPiece, [CLS] … [SEP], cut to the fine-tuning `maxLength`.
 */
import { classify, type HfTokenizer, type RewardClassifier } from '@rdlab/ml';

/** How a BERT R reads text: its tokenizer, input length and padding id. */
export interface RewardTextInput {
  tokenizer: HfTokenizer;
  /** Tokens per input, [CLS] and [SEP] included (`rewardModel.finetune.maxLength`). */
  maxLength: number;
  padId: number;
}

/**
 * `text` as BERT input: [CLS] … [SEP], at most `maxLength` tokens. Longer texts lose their tail
 * and keep the [SEP] (transformers' truncation keeps the special tokens too).
 */
export function bertInput(tokenizer: HfTokenizer, text: string, maxLength: number): number[] {
  const ids = tokenizer.encode(text);
  if (ids.length <= maxLength) return ids;
  return [...ids.slice(0, maxLength - 1), ids[ids.length - 1] as number];
}

/** R's logits `[B, C]` for `sequences` of β's token ids (sentences without end-of-text). */
export function rewardLogits(
  prepared: {
    reward: RewardClassifier;
    /** β's tokenizer. */
    tokenizer: { eosId: number; decode(ids: ArrayLike<number>): string };
    rewardText: RewardTextInput | null;
  },
  sequences: ArrayLike<number>[],
): Float32Array {
  const { reward, tokenizer, rewardText } = prepared;
  if (rewardText === null) return classify(reward, sequences, tokenizer.eosId);
  const inputs = sequences.map((ids) =>
    bertInput(rewardText.tokenizer, tokenizer.decode(ids), rewardText.maxLength),
  );
  return classify(reward, inputs, rewardText.padId);
}
