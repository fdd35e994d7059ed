/**
 * Readers for the file layouts users have. A format names the files of a split and parses one
 * file into records `{ text, label }`; labels are as written in the files (`'0'`, `'3'`, …) and
 * map to attributes through `DATASET_FORMATS` in `@rdlab/core`.
 */
import type { DatasetFormatName, NewsTextField } from '@rdlab/core';
import { parseCsv } from './csv.js';
import { DatasetError } from './errors.js';

export interface TextRecord {
  text: string;
  label: string;
  /** `file:line`, for messages. */
  origin: string;
}

/** The files that make up `split` in a directory of this format. */
export function splitFiles(format: DatasetFormatName, split: string): string[] {
  switch (format) {
    case 'yelp-style-transfer':
      return [`sentiment.${split}.0`, `sentiment.${split}.1`];
    case 'yelp-polarity-csv':
    case 'agnews-csv':
      return [`${split}.csv`];
    case 'jsonl':
      return [`${split}.jsonl`];
    case 'builtin':
      return [];
  }
}

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '#39;': "'",
  'quot;': '"',
  '&#39;': "'",
};

/** AG News text as released: `\` for line breaks, escaped entities, HTML remnants. */
export function cleanNewsText(text: string): string {
  return text
    .replace(/&amp;|&lt;|&gt;|&quot;|&#39;|#39;|quot;/g, (m) => ENTITIES[m] ?? m)
    .replace(/<[^>]{0,40}>/g, ' ')
    .replace(/\\/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The first sentence of an AG News description with its source tag ("Reuters - ", "AP - ")
 * removed: a news sentence short enough for a 30-token window, as the paper's "sentences".
 */
export function newsSentence(description: string): string {
  const clean = cleanNewsText(description).replace(/^[\w.,'&()/ ]{1,40}?\s+-{1,2}\s+/, '');
  const first = clean.split(/(?<=[.!?])\s+(?=["'A-Z])/)[0] ?? clean;
  return first.trim();
}

/** AG News title without its source tag, e.g. "(Reuters)". */
export function newsTitle(title: string): string {
  return cleanNewsText(title).replace(
    /\s*\((Reuters|AP|AFP|Reuters\.com|washingtonpost\.com|SPACE\.com|[A-Za-z.]{2,20})\)\s*$/,
    '',
  );
}

function newsText_(title: string, description: string, field: NewsTextField): string {
  switch (field) {
    case 'sentence':
      return newsSentence(description);
    case 'title':
      return newsTitle(title);
    case 'description':
      return cleanNewsText(description);
    case 'title+description':
      return `${newsTitle(title)} . ${cleanNewsText(description)}`;
    default:
      throw new DatasetError('RDLAB_DATA_SOURCE', `unknown AG News text field '${String(field)}'`);
  }
}

/** Parses one file of a split. `name` is the file's name within the dataset (for labels and messages). */
export function parseSplitFile(
  format: DatasetFormatName,
  name: string,
  text: string,
  newsText: NewsTextField = 'sentence',
): TextRecord[] {
  const records: TextRecord[] = [];
  switch (format) {
    case 'yelp-style-transfer': {
      const label = name.slice(name.lastIndexOf('.') + 1);
      text.split('\n').forEach((line, i) => {
        const sentence = line.trim();
        if (sentence) records.push({ text: sentence, label, origin: `${name}:${i + 1}` });
      });
      break;
    }
    case 'yelp-polarity-csv':
    case 'agnews-csv': {
      let rows: ReturnType<typeof parseCsv>;
      try {
        rows = parseCsv(text);
      } catch (error) {
        throw new DatasetError('RDLAB_DATA_MALFORMED', `${name}: ${(error as Error).message}`);
      }
      const columns = format === 'agnews-csv' ? 3 : 2;
      const layout = format === 'agnews-csv' ? '"class","title","description"' : '"label","text"';
      for (const row of rows) {
        const [label, ...rest] = row.fields;
        if (row.fields.length !== columns || !label || !/^\d+$/.test(label.trim())) {
          throw new DatasetError(
            'RDLAB_DATA_MALFORMED',
            `${name}:${row.line}: expected ${columns} columns ${layout} with a numeric label, got ${JSON.stringify(row.fields).slice(0, 120)}`,
          );
        }
        const body =
          format === 'agnews-csv'
            ? newsText_(rest[0] ?? '', rest[1] ?? '', newsText)
            : cleanNewsText(rest[0] ?? '');
        if (body) records.push({ text: body, label: label.trim(), origin: `${name}:${row.line}` });
      }
      break;
    }
    case 'jsonl': {
      text.split('\n').forEach((line, i) => {
        if (!line.trim()) return;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (error) {
          throw new DatasetError(
            'RDLAB_DATA_MALFORMED',
            `${name}:${i + 1}: not JSON (${(error as Error).message})`,
          );
        }
        const v = value as { text?: unknown; label?: unknown };
        if (
          typeof v?.text !== 'string' ||
          (typeof v.label !== 'string' && typeof v.label !== 'number')
        ) {
          throw new DatasetError(
            'RDLAB_DATA_MALFORMED',
            `${name}:${i + 1}: expected {"text": string, "label": string or number}`,
          );
        }
        records.push({ text: v.text.trim(), label: String(v.label), origin: `${name}:${i + 1}` });
      });
      break;
    }
    case 'builtin':
      throw new DatasetError(
        'RDLAB_DATA_SOURCE',
        'builtin datasets are generated, not read from files',
      );
  }
  return records;
}
