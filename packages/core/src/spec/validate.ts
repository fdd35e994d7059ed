/**
 * Validation of a sweep spec: every problem at once, each with its path, the value found and
 * what is allowed. Structural problems come from the schema; the checks here need the whole
 * spec (names unique across entries, targets that must match β, the cell cap) and run once the
 * structure is sound.
 */
import { parseDocument } from 'yaml';
import { canonicalJson } from '../hash.js';
import { LM_PRESETS } from '../models.js';
import { dropoutLabel } from '../objective/dropout-label.js';
import { dropoutVariantPath, dropoutVariants } from './dropout-entry.js';
import { type Cell, countCells, expandSweep, resolveTarget } from './expand.js';
import { formatProblem, problemsFromIssues, type SpecProblem, valueAt } from './problems.js';
import { type SweepSpec, sweepSpecSchema } from './schema.js';

export type SpecValidation =
  | { ok: true; spec: SweepSpec; cells: Cell[] }
  | { ok: false; problems: SpecProblem[] };

/** Thrown by {@link parseSweepSpec}; carries every problem. */
export class SpecError extends Error {
  readonly code = 'RDLAB_SPEC_INVALID';
  constructor(readonly problems: SpecProblem[]) {
    super(
      `the sweep spec has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
    this.name = 'SpecError';
  }
}

/** Parses YAML or JSON text. Syntax errors become problems with line and column. */
export function parseSpecText(
  text: string,
): { ok: true; value: unknown } | { ok: false; problems: SpecProblem[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const where = e.linePos?.[0]
          ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}`
          : '';
        return {
          path: '',
          value: undefined,
          message: `YAML/JSON syntax error${where}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
        };
      }),
    };
  }
  return { ok: true, value: doc.toJS() };
}

export function validateSpec(input: unknown): SpecValidation {
  const parsed = sweepSpecSchema.safeParse(input);
  if (!parsed.success)
    return { ok: false, problems: problemsFromIssues(parsed.error.issues, input) };
  const spec = parsed.data;
  const problems = crossChecks(spec);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, spec, cells: expandSweep(spec) };
}

/** Text → validated spec and its cells, or a {@link SpecError} listing every problem. */
export function parseSweepSpec(text: string): { spec: SweepSpec; cells: Cell[] } {
  const parsed = parseSpecText(text);
  if (!parsed.ok) throw new SpecError(parsed.problems);
  const result = validateSpec(parsed.value);
  if (!result.ok) throw new SpecError(result.problems);
  return result;
}

function duplicates<T>(items: readonly T[], key: (item: T) => string): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) out.push(i);
    seen.add(k);
  });
  return out;
}

function crossChecks(spec: SweepSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const i of duplicates(spec.datasets, (d) => d.name)) {
    problems.push({
      path: `/datasets/${i}/name`,
      value: spec.datasets[i]?.name,
      message: 'is used by another dataset: names must be unique',
    });
  }

  const targets = spec.targets.map((t) => resolveTarget(t, spec.behavior.model));
  for (const i of duplicates(targets, (t) => t.name)) {
    problems.push({
      path: spec.targets[i]?.name ? `/targets/${i}/name` : `/targets/${i}`,
      value: targets[i]?.name,
      message: "names the same target as an earlier entry: give each target a distinct 'name'",
    });
  }
  targets.forEach((target, i) => {
    if (
      target.init === 'behavior' &&
      canonicalJson(target.model) !== canonicalJson(spec.behavior.model)
    ) {
      problems.push({
        path: `/targets/${i}/init`,
        value: 'behavior',
        message: `init 'behavior' copies β's weights, so model must be β's (${canonicalJson(spec.behavior.model)}); use init 'random' or 'pretrained' for another model`,
      });
    }
  });

  const positions = [spec.behavior.model, ...targets.map((t) => t.model)]
    .map((m) => (m.preset ? LM_PRESETS[m.preset].n_positions : Number.POSITIVE_INFINITY))
    .reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  if (spec.training.maxLength > positions) {
    problems.push({
      path: '/training/maxLength',
      value: spec.training.maxLength,
      message: `must be ≤ ${positions}, the positions of the smallest model in the sweep`,
    });
  }

  // The same variant twice would train the same cell twice.
  const seen = new Map<string, string>();
  spec.dropout.forEach((entry, i) => {
    dropoutVariants(entry).forEach((variant, j) => {
      const label = dropoutLabel(variant);
      const where = dropoutVariantPath(entry, i, j);
      const first = seen.get(label);
      if (first !== undefined)
        problems.push({
          path: where,
          value: valueAt(spec, where.split('/').slice(1)),
          message: `repeats the dropout variant ${label} of ${first}`,
        });
      else seen.set(label, where);
    });
  });

  const count = countCells(spec);
  if (count > spec.limits.maxCells) {
    problems.push({
      path: '/limits/maxCells',
      value: spec.limits.maxCells,
      message: `the sweep expands to ${count} cells, more than limits.maxCells allows: raise it or split the sweep`,
    });
  }
  return problems;
}
