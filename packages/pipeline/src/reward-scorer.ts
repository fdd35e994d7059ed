/**
 * R's logits for token sequences. The CNN reads β's ids (it was trained on β's tokenizer), so
 * sequences another tokenizer made (π's generations) are re-encoded with β's; a BERT R reads
 * text: the ids are decoded and re-encoded with R's own WordPiece, [CLS] … [SEP], cut to the
 * fine-tuning `maxLength`.
 */
import { classify, type HfTokenizer, type RewardClassifier, type TextTokenizer } from '@rdlab/ml';
import { encodeText } from './retokenize.js';
import { sameTokenizer } from './tokenizers.js';

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

/**
 * R's logits `[B, C]` for `sequences` (sentences without end-of-text) made by `madeBy`, β's
 * tokenizer unless said otherwise.
 */
export function rewardLogits(
  prepared: {
    reward: RewardClassifier;
    /** β's tokenizer. */
    tokenizer: TextTokenizer;
    rewardText: RewardTextInput | null;
  },
  sequences: ArrayLike<number>[],
  madeBy: TextTokenizer = prepared.tokenizer,
): Float32Array {
  const { reward, tokenizer, rewardText } = prepared;
  if (rewardText === null) {
    const inputs = sameTokenizer(madeBy, tokenizer)
      ? sequences
      : sequences.map((ids) => encodeText(tokenizer, madeBy.decode(Array.from(ids))));
    return classify(reward, inputs, tokenizer.eosId);
  }
  const inputs = sequences.map((ids) =>
    bertInput(rewardText.tokenizer, madeBy.decode(Array.from(ids)), rewardText.maxLength),
  );
  return classify(reward, inputs, rewardText.padId);
}
