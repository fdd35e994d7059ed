/**
 * GPT-2's byte-level alphabet and pre-tokeniser (Radford et al., 2019; `encoder.py`).
 *
 * Every byte maps to a printable unicode character, so BPE runs on strings without ever meeting
 * an unknown symbol; text is first split into words, numbers, punctuation and spaces by the
 * pattern below, and merges never cross those pieces.
 */

/** GPT-2's `bytes_to_unicode`: byte value → character. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n);
      n += 1;
    }
  }
  const table = new Array<string>(256);
  bytes.forEach((b, i) => {
    table[b] = String.fromCharCode(chars[i] as number);
  });
  return table;
})();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHAR.map((c, b) => [c, b]),
);

/** GPT-2's pre-tokenisation pattern. */
export const GPT2_SPLIT =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** The pieces of `text`, each as its byte-level string. */
export function pretokenize(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(GPT2_SPLIT)) out.push(toByteLevel(match[0]));
  return out;
}

export function toByteLevel(text: string): string {
  let s = '';
  for (const b of utf8.encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}

/** Byte-level string → text; invalid UTF-8 (a token boundary inside a character) becomes U+FFFD. */
export function fromByteLevel(symbols: string): string {
  const bytes = new Uint8Array(symbols.length);
  let n = 0;
  for (const ch of symbols) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) bytes[n++] = b;
  }
  return utf8Decoder.decode(bytes.subarray(0, n));
}
