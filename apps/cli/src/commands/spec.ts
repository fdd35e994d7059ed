/** `rdlab spec validate|expand <file>`: check a sweep spec and list its cells. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type Cell,
  dropoutLabel,
  formatProblem,
  parseSpecText,
  type SpecProblem,
  type SpecValidation,
  validateSpec,
} from '@rdlab/core';
import { checkSpecReferences } from '@rdlab/ml/references';
import type { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { renderTable } from '../table.js';

export async function readSpec(file: string): Promise<SpecValidation> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no such file'
        : (error as Error).message;
    throw new CliError(`cannot read spec '${file}': ${reason}`);
  }
  const parsed = parseSpecText(text);
  const result = parsed.ok ? validateSpec(parsed.value) : parsed;
  if (!result.ok) return result;
  // Checkpoint references: config.json, safetensors headers and tokenizers, relative to the file.
  // Best effort: a remote reference this machine cannot reach is reported, not refused.
  const references = await checkSpecReferences(result.spec, {
    baseDir: dirname(resolve(file)),
    bestEffort: true,
  });
  for (const u of references.unchecked) console.error(`rdlab: ${u.path} not checked: ${u.reason}`);
  return references.problems.length > 0 ? { ok: false, problems: references.problems } : result;
}

/** A valid spec file's spec and cells, or a CliError listing every problem with its path. */
export async function readValidSpec(file: string) {
  const result = await readSpec(file);
  if (!result.ok) reportProblems(file, result);
  return result;
}

/** Exits 2 (usage) listing every problem with its spec path. */
export function reportProblems(
  file: string,
  result: Extract<SpecValidation, { ok: false }> | readonly SpecProblem[],
): never {
  const problems = 'problems' in result ? result.problems : result;
  const n = problems.length;
  throw new CliError(
    `${file}: ${n} problem${n === 1 ? '' : 's'}\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
  );
}

/** The JSON form of a cell for `spec expand --json`. */
export function cellJson(cell: Cell) {
  return {
    id: cell.id,
    dataset: cell.dataset,
    attribute: cell.attribute,
    dropout: cell.dropout,
    dropoutLabel: dropoutLabel(cell.dropout),
    target: cell.target,
    seed: cell.seed,
  };
}

export function registerSpecCommands(program: Command): void {
  const spec = program.command('spec').description('check sweep specs and list their cells');

  spec
    .command('validate')
    .description('check a sweep spec (YAML or JSON); exit 0 if valid, 2 with every problem if not')
    .argument('<file>', 'the spec file')
    .action(async (file: string) => {
      const result = await readSpec(file);
      if (!result.ok) reportProblems(file, result);
      const attributes = result.spec.datasets.reduce((n, d) => n + d.attributes.length, 0);
      const variants = new Set(result.cells.map((c) => JSON.stringify(c.dropout))).size;
      const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
      console.log(
        `${file}: valid, ${count(result.cells.length, 'cell')} = ${count(attributes, 'attribute')} × ${count(result.spec.targets.length, 'target')} × ${count(variants, 'dropout variant')} × ${count(result.spec.seeds.length, 'seed')}`,
      );
    });

  spec
    .command('expand')
    .description('list the cells of a sweep spec, in run order')
    .argument('<file>', 'the spec file')
    .option('--json', 'print {"count", "cells": [...]} instead of a table')
    .action(async (file: string, options: { json?: boolean }) => {
      const result = await readSpec(file);
      if (!result.ok) reportProblems(file, result);
      if (options.json) {
        console.log(
          JSON.stringify(
            { count: result.cells.length, cells: result.cells.map(cellJson) },
            null,
            2,
          ),
        );
        return;
      }
      const rows = result.cells.map((c) => [
        c.index + 1,
        c.id,
        c.dataset,
        c.attribute,
        c.target,
        dropoutLabel(c.dropout),
        c.seed,
      ]);
      console.log(
        renderTable(['#', 'id', 'dataset', 'attribute', 'target', 'dropout', 'seed'], rows),
      );
      console.log(`\n${result.cells.length} cells`);
    });
}

export { EXIT };
