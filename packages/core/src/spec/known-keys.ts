/**
 * Strict objects whose unknown-key issue carries the keys the object does know, so a problem
 * can say "did you mean 'batchSize'?" ({@link problemsFromIssues} reads the mark).
 */
import { z } from 'zod';

/** Marks the message of an unknown-keys issue with the keys the object does know. */
export const KNOWN_KEYS_MARK = 'rdlab:known-keys:';

/** `z.strictObject` whose unknown-key issue carries the known keys, for did-you-mean hints. */
export function strict<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? KNOWN_KEYS_MARK + known.join(',') : undefined,
  });
}
