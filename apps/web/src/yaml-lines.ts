/**
 * Where a spec problem is in the YAML the researcher typed. The API names each problem by a JSON
 * pointer into the parsed spec (`/dropout/2/gamma`); this walks the same path through the YAML
 * document's nodes (the `yaml` package's `parseDocument` keeps each node's source range) and
 * turns the offset into a line. A path that ends at a key that is not there (a required field
 * left out) points at the deepest part that is, and says so (`exact: false`). Pure.
 *
 * ```ts
 * locateProblems('training:\n  batchSize: 0\n', [{ path: '/training/batchSize', message: 'must be ≥ 1' }]);
 * // → [{ path: '/training/batchSize', message: 'must be ≥ 1', line: 2, column: 3, exact: true }]
 * ```
 */
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { SpecProblem } from './types.js';

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** The whole path was found; false: the position of its deepest existing parent. */
  exact: boolean;
}

export type LocatedProblem = SpecProblem & Position;

/** `/a/b~1c/0` → `['a', 'b/c', '0']` (RFC 6901 unescaping); `''` and `/` alike are the root. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  const body = pointer.startsWith('/') ? pointer.slice(1) : pointer;
  return body.split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

const keyText = (key: unknown): string | null => {
  if (isScalar(key)) return String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return null;
};

const startOf = (node: unknown): number | null =>
  isNode(node) && node.range ? node.range[0] : null;

/** The offset in `text` of the node a JSON pointer names (see {@link Position}). */
function offsetOf(
  contents: unknown,
  tokens: readonly string[],
): { offset: number; exact: boolean } {
  let node: unknown = contents;
  let offset = startOf(node) ?? 0;
  for (const token of tokens) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === token);
      if (!pair) return { offset, exact: false };
      // A key's own line: a block value starts on the next one.
      offset = startOf(pair.key) ?? startOf(pair.value) ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = /^\d+$/.test(token) ? Number(token) : -1;
      const item = node.items[index];
      if (item === undefined) return { offset, exact: false };
      offset = startOf(item) ?? offset;
      node = item;
    } else {
      return { offset, exact: false };
    }
  }
  return { offset, exact: true };
}

/** Position of the node a JSON pointer names in a YAML (or JSON) text. */
export function locatePointer(text: string, pointer: string): Position {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: false });
  const { offset, exact } = offsetOf(doc.contents, pointerTokens(pointer));
  const { line, col } = lineCounter.linePos(offset);
  return { line: Math.max(1, line), column: Math.max(1, col), exact };
}

/** Each problem with its position, ordered by line (then as given). */
export function locateProblems(text: string, problems: readonly SpecProblem[]): LocatedProblem[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return problems
    .map((problem, i) => {
      const { offset, exact } = offsetOf(doc.contents, pointerTokens(problem.path));
      const { line, col } = lineCounter.linePos(offset);
      return {
        i,
        located: { ...problem, line: Math.max(1, line), column: Math.max(1, col), exact },
      };
    })
    .sort((a, b) => a.located.line - b.located.line || a.i - b.i)
    .map(({ located }) => located);
}

/** The syntax errors of a YAML text with their lines (what the API would refuse as malformed). */
export function syntaxErrors(
  text: string,
): Array<{ line: number; column: number; message: string }> {
  const doc = parseDocument(text);
  return doc.errors.map((e) => ({
    line: e.linePos?.[0].line ?? 1,
    column: e.linePos?.[0].col ?? 1,
    message: e.message.split('\n')[0] ?? e.message,
  }));
}

/** `… at line 4, column 1: …` (the API's RDLAB_BAD_REQUEST for malformed YAML) → 4. */
export function lineFromMessage(message: string): number | null {
  const match = /\bline (\d+)/.exec(message);
  return match ? Number(match[1]) : null;
}
