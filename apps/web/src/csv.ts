/**
 * CSV (RFC 4180) of a chart's or a table's data: a header row, then one row per record, fields
 * quoted when they hold a comma, a quote or a line break. `null` and non-finite numbers are
 * empty fields. Pure; {@link downloadText} is the one DOM helper.
 */

export type CsvValue = string | number | boolean | null | undefined;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly CsvValue[]>): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/**
 * uPlot-style aligned data (`[xs, ys1, ys2, …]`) as CSV, one row per x.
 */
export function alignedToCsv(
  labels: readonly string[],
  data: ReadonlyArray<ArrayLike<number | null | undefined>>,
): string {
  const xs = data[0];
  const n = xs ? xs.length : 0;
  const rows: CsvValue[][] = [];
  for (let i = 0; i < n; i++) rows.push(data.map((col) => col[i] ?? null));
  return toCsv(labels, rows);
}

/** Saves `text` as a file through a Blob and a temporary link. */
export function downloadText(
  text: string,
  filename: string,
  type = 'text/csv;charset=utf-8',
): void {
  downloadUrl(URL.createObjectURL(new Blob([text], { type })), filename, true);
}

/** Saves a URL (a data: or blob: URL) as a file. */
export function downloadUrl(url: string, filename: string, revoke = false): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  if (revoke) setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from free text: `demo negative acc` → `demo-negative-acc`. */
export function fileSlug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'chart'
  );
}
