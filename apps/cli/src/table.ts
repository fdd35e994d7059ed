/** Plain-text tables for the terminal: left-aligned text, right-aligned numbers. */
export function renderTable(header: string[], rows: Array<Array<string | number | null>>): string {
  const cells = rows.map((row) => row.map((v) => (v === null ? '–' : String(v))));
  const numeric = header.map((_, c) =>
    rows.every((row) => typeof row[c] === 'number' || row[c] === null),
  );
  const widths = header.map((h, c) =>
    Math.max(h.length, ...cells.map((row) => (row[c] ?? '').length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, c) => (numeric[c] ? v.padStart(widths[c] ?? 0) : v.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n');
}
