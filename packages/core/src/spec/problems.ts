/**
 * Validation problems as a researcher reads them: where (a JSON pointer such as
 * `/dropout/1/gamma/2`), what was there, and what is allowed.
 */
import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { KNOWN_KEYS_MARK } from './known-keys.js';

export interface SpecProblem {
  /** JSON pointer into the spec; '' is the whole spec. */
  path: string;
  /** The value found there (undefined when missing). */
  value: unknown;
  /** What is wrong and what is allowed. */
  message: string;
}

export function pointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

export function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
}

const ARTICLE: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

/** Turns zod issues into problems, one per offending value, in document order. */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  base: PropertyKey[] = [],
): SpecProblem[] {
  const out: SpecProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const value = valueAt(input, path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = issue.message.startsWith(KNOWN_KEYS_MARK)
          ? issue.message.slice(KNOWN_KEYS_MARK.length).split(',').filter(Boolean)
          : [];
        for (const key of issue.keys) {
          const guess = didYouMean(key, known);
          const hint = guess ? `did you mean '${guess}'?` : `allowed keys: ${quoteList(known)}`;
          out.push({
            path: pointer([...path, key]),
            value: valueAt(input, [...path, key]),
            message: `unknown key '${key}'; ${hint}`,
          });
        }
        break;
      }
      case 'invalid_union': {
        // Follow the branch that got furthest (its issues lie below the union's own path); if
        // every branch failed on the value's type, say which types are allowed.
        const deeper = issue.errors.find(
          (branch) => branch.length > 0 && branch.every((i) => i.path.length > 0),
        );
        if (deeper) out.push(...problemsFromIssues(deeper, input, path));
        else {
          const expected = issue.errors.flatMap((b) =>
            b
              .filter((i) => i.code === 'invalid_type')
              .map((i) => (i as { expected: string }).expected),
          );
          const names = [...new Set(expected)].map((e) =>
            e === 'array' ? 'a list of them' : (ARTICLE[e] ?? e),
          );
          out.push({
            path: pointer(path),
            value,
            message: `must be ${names.join(' or ') || 'a valid value'}`,
          });
        }
        break;
      }
      case 'invalid_type':
        out.push({
          path: pointer(path),
          value,
          message:
            value === undefined
              ? `is required (${ARTICLE[issue.expected] ?? issue.expected})`
              : `must be ${ARTICLE[issue.expected] ?? issue.expected}`,
        });
        break;
      case 'too_small': {
        const min = Number(issue.minimum);
        const message =
          issue.origin === 'array'
            ? `must have at least ${min} item${min === 1 ? '' : 's'}`
            : issue.origin === 'string'
              ? 'must not be empty'
              : `must be ${issue.inclusive ? '≥' : '>'} ${min}`;
        out.push({ path: pointer(path), value, message });
        break;
      }
      case 'too_big': {
        const max = Number(issue.maximum);
        const message =
          issue.origin === 'array'
            ? `must have at most ${max} items`
            : `must be ${issue.inclusive ? '≤' : '<'} ${max}`;
        out.push({ path: pointer(path), value, message });
        break;
      }
      case 'invalid_value': {
        const guess =
          typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : undefined;
        out.push({
          path: pointer(path),
          value,
          message: `must be one of ${quoteList(issue.values)}${guess ? `; did you mean '${guess}'?` : ''}`,
        });
        break;
      }
      default:
        out.push({ path: pointer(path), value, message: issue.message });
    }
  }
  return out;
}

/** `/dropout/1/gamma/2: must be ≤ 1 (got 1.5)` */
export function formatProblem(problem: SpecProblem): string {
  const got = problem.value === undefined ? '' : ` (got ${JSON.stringify(problem.value)})`;
  return `${problem.path || '/'}: ${problem.message}${got}`;
}
