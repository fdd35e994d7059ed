/** Which preset a checkpoint's name names (sizing models the plan cannot read). */
/**
 * The preset a checkpoint name names (`…/gpt2`, `gpt2-large-finetuned`): the match that starts
 * first, the longest there, as a whole word. Hugging Face's own names map to theirs, and GPT-2 XL,
 * which no preset has, to none.
 */
export function presetFromName<P extends string>(
  checkpoint: string,
  presets: readonly P[],
  aliases: Record<string, P | null> = {},
): P | null {
  const base = (checkpoint.replace(/\/+$/, '').split('/').pop() ?? '').toLowerCase();
  let best: { at: number; length: number; preset: P | null } | null = null;
  const names: Array<[string, P | null]> = [
    ...presets.map((p): [string, P] => [p, p]),
    ...Object.entries(aliases),
  ];
  for (const [name, preset] of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const at = base.search(new RegExp(`(?<![a-z0-9])${escaped}(?![a-z0-9])`));
    if (at < 0) continue;
    if (!best || at < best.at || (at === best.at && name.length > best.length))
      best = { at, length: name.length, preset };
  }
  return best?.preset ?? null;
}
