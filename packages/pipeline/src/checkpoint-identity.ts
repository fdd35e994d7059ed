/**
 * A checkpoint folder's content identity: a SHA-256 over the names and bytes of its config,
 * weights and tokenizer files, so a reward model fine-tuned from it is keyed by what it was
 * fine-tuned from, not only by where that lives (a re-uploaded checkpoint is a new R).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

// What a model reads: the config, the weights (single or sharded, with the index) and tokenizer.
const IDENTITY_FILE =
  /^(config\.json|.*\.safetensors|.*\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|vocab\.txt)$/;

// Hashing bert-base's 440 MB takes a second: remembered per (path, size, mtime) in this process.
const memo = new Map<string, string>();

async function fileHash(path: string): Promise<string> {
  const info = await stat(path);
  const memoKey = `${path}\n${info.size}\n${info.mtimeMs}`;
  const known = memo.get(memoKey);
  if (known) return known;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const hex = hash.digest('hex');
  memo.set(memoKey, hex);
  return hex;
}

/** The identity of the checkpoint in local folder `dir` (see the module comment). */
export async function checkpointIdentity(dir: string): Promise<string> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && IDENTITY_FILE.test(e.name))
    .map((e) => e.name)
    .sort();
  const hash = createHash('sha256');
  for (const name of names) hash.update(`${name}\n${await fileHash(join(dir, name))}\n`);
  return hash.digest('hex');
}
