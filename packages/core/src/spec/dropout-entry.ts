/**
 * A dropout entry of a sweep spec (`{kind: quantile, gamma: [0.8, 0.9]}`) and the variants it
 * expands to, both derived from the dropout registry: a number parameter may list values (one
 * variant each), a boolean parameter left out takes its default.
 */
import { z } from 'zod';
import {
  type DropoutConfig,
  type DropoutKind,
  type DropoutKinds,
  dropoutKinds,
  dropoutParameters,
  isDropoutKind,
  parameterProblem,
  resolveDropoutConfig,
} from '../objective/dropout.js';
import { KNOWN_KEYS_MARK } from './known-keys.js';

/** A kind's parameters as a spec writes them: numbers may be lists. */
type Gridded<T> = { [P in keyof T]?: T[P] extends number ? number | number[] : T[P] };

/** One entry of a spec's `dropout` list. */
export type DropoutEntry = {
  [K in DropoutKind]: { kind: K } & Gridded<DropoutKinds[K]>;
}[DropoutKind];

type Issue = Parameters<z.core.$RefinementCtx['addIssue']>[0];

/** Every problem of one entry, each at its path below the entry. */
function entryIssues(entry: Record<string, unknown> & { kind: string }): Issue[] {
  if (!isDropoutKind(entry.kind))
    return [
      {
        code: 'invalid_value',
        values: dropoutKinds(),
        path: ['kind'],
        input: entry.kind,
        message: 'unknown dropout kind',
      },
    ];
  const own = new Map(dropoutParameters(entry.kind));
  const anyKind = new Set(dropoutKinds().flatMap((k) => dropoutParameters(k).map(([n]) => n)));
  const issues: Issue[] = [];
  const unknown = Object.keys(entry).filter((key) => key !== 'kind' && !anyKind.has(key));
  if (unknown.length > 0)
    issues.push({
      code: 'unrecognized_keys',
      keys: unknown,
      path: [],
      input: entry,
      message: KNOWN_KEYS_MARK + ['kind', ...anyKind].join(','),
    });
  for (const key of Object.keys(entry)) {
    if (key === 'kind' || !anyKind.has(key) || own.has(key) || entry[key] === undefined) continue;
    issues.push({
      code: 'custom',
      path: [key],
      input: entry[key],
      message: `does not apply to '${entry.kind}' dropout`,
    });
  }
  for (const [name, parameter] of own) {
    const value = entry[name];
    const at = (path: PropertyKey[], input: unknown, message: string) =>
      issues.push({ code: 'custom', path, input, message });
    if (value === undefined) {
      if (parameter.type === 'number') at([name], value, `is required for '${entry.kind}' dropout`);
    } else if (parameter.type === 'number' && Array.isArray(value)) {
      if (value.length === 0) at([name], value, 'must have at least 1 item');
      value.forEach((v, j) => {
        const problem = parameterProblem(parameter, v);
        if (problem) at([name, j], v, problem);
      });
    } else if (parameter.type === 'number' && typeof value !== 'number') {
      at([name], value, 'must be a number or a list of numbers');
    } else {
      const problem = parameterProblem(parameter, value);
      if (problem) at([name], value, problem);
    }
  }
  return issues;
}

/**
 * The schema of one entry. It reads the registry when it parses, not when it is built, so kinds
 * registered later are accepted too.
 */
export const dropoutEntrySchema = z
  .looseObject({ kind: z.string() })
  .superRefine((entry, ctx) => {
    for (const issue of entryIssues(entry)) ctx.addIssue(issue);
  })
  .transform((entry) => entry as unknown as DropoutEntry);

/**
 * The variants of one entry: the product of its number parameters' values, in parameter order;
 * `none` is one variant. Each comes resolved (defaults filled in), as cells hash it.
 */
export function dropoutVariants(entry: DropoutEntry): DropoutConfig[] {
  const e = entry as Record<string, unknown> & { kind: string };
  let variants: Array<Record<string, unknown>> = [{ kind: e.kind }];
  for (const [name, parameter] of dropoutParameters(e.kind)) {
    const value = e[name];
    if (parameter.type === 'number') {
      const values = Array.isArray(value) ? value : [value];
      variants = variants.flatMap((v) => values.map((x) => ({ ...v, [name]: x })));
    } else if (value !== undefined) variants = variants.map((v) => ({ ...v, [name]: value }));
  }
  return variants.map(resolveDropoutConfig);
}

/** The variant count of one entry, without building them. */
export function dropoutVariantCount(entry: DropoutEntry): number {
  const e = entry as Record<string, unknown> & { kind: string };
  return dropoutParameters(e.kind).reduce((n, [name, parameter]) => {
    const value = e[name];
    return parameter.type === 'number' && Array.isArray(value) ? n * value.length : n;
  }, 1);
}

/**
 * Where variant `j` of entry `i` is written: the list item of its one listed parameter, or the
 * entry itself.
 */
export function dropoutVariantPath(entry: DropoutEntry, i: number, j: number): string {
  const e = entry as Record<string, unknown> & { kind: string };
  const listed = dropoutParameters(e.kind).filter(([name]) => Array.isArray(e[name]));
  return listed.length === 1 ? `/dropout/${i}/${listed[0]?.[0]}/${j}` : `/dropout/${i}`;
}
