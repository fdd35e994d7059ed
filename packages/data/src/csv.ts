/**
 * RFC 4180 CSV: comma-separated fields, double-quoted where they hold commas, quotes or line
 * breaks, `""` for a quote inside quotes. Each row carries the line it starts on, for errors.
 */
export interface CsvRow {
  fields: string[];
  line: number;
}

export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let atFieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else quoted = false;
      } else {
        if (c === '\n') line += 1;
        field += c;
      }
      continue;
    }
    if (c === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
    } else if (c === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      fields.push(field);
      if (fields.length > 1 || fields[0] !== '') rows.push({ fields, line: rowLine });
      fields = [];
      field = '';
      atFieldStart = true;
      line += 1;
      rowLine = line;
    } else {
      field += c;
      atFieldStart = false;
    }
  }
  if (quoted) throw new SyntaxError(`unterminated quoted field starting on line ${rowLine}`);
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    rows.push({ fields, line: rowLine });
  }
  return rows;
}
