/**
 * Turning token sequences into padded batches. Sentences end with end-of-text, as GPT-2 was
 * trained, so a model learns where to stop; padding repeats end-of-text and is masked out.
 */
import type { Rng } from '@rdlab/core';

export interface PaddedBatch {
  ids: Int32Array; // [B, T]
  /** 1 on positions whose token is predicted and counts in the loss (t ≥ 1, not padding). */
  lossMask: Float32Array; // [B, T]
  /** Real tokens per row. */
  lengths: Int32Array; // [B]
  batchSize: number;
  length: number;
}

/** Right-pads `sequences` (each + end-of-text, cut to `maxLength`) into one batch. */
export function padBatch(
  sequences: ArrayLike<number>[],
  eosId: number,
  maxLength: number,
  appendEos = true,
): PaddedBatch {
  const B = sequences.length;
  const rows = sequences.map((s) => {
    const row = Array.from(s);
    if (appendEos) row.push(eosId);
    return row.slice(0, maxLength);
  });
  const T = Math.max(2, ...rows.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(eosId);
  const lossMask = new Float32Array(B * T);
  const lengths = new Int32Array(B);
  rows.forEach((row, b) => {
    ids.set(row, b * T);
    lengths[b] = row.length;
    for (let t = 1; t < row.length; t++) lossMask[b * T + t] = 1;
  });
  return { ids, lossMask, lengths, batchSize: B, length: T };
}

/** Index batches of one epoch: a seeded shuffle cut into `batchSize` pieces (the last may be short). */
export function epochBatches(
  count: number,
  batchSize: number,
  rng: Rng,
  dropLast = false,
): number[][] {
  const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  const out: number[][] = [];
  for (let i = 0; i < count; i += batchSize) {
    const slice = order.slice(i, i + batchSize);
    if (dropLast && slice.length < batchSize) break;
    out.push(slice);
  }
  return out;
}
