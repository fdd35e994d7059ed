/**
 * Where checkpoints come from: a checkpoint reference (a local folder, `file://…`,
 * `s3://bucket/prefix` or an `https://…` folder URL) resolved to a local folder. Remote ones are
 * downloaded once into a cache folder keyed by the reference: `config.json`, the tokenizer files
 * there are, and `model.safetensors` or `model.safetensors.index.json` and its shards, each
 * streamed and verified by {@link downloadVerified} (S3: the SHA-256 and length the rdlab store
 * records in object metadata, else Content-Length; https: an `X-Checksum-Sha256` or
 * `X-Amz-Meta-Rdlab-Sha256` header, else a `<file>.sha256` sidecar, else Content-Length). The
 * folder counts only once a `.complete` marker is written after every file; concurrent resolves
 * of one reference share one download (in this process, a promise; across processes on one
 * machine, a lock file).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFileError } from '../errors.js';
import { type DownloadOptions, downloadVerified, type FetchedBody } from './download.js';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './reader.js';

/** Files fetched when the source has them (config.json is required, and one of the weights). */
export const CHECKPOINT_OPTIONAL_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
  'special_tokens_map.json',
  // A Google-style BERT folder's only tokenizer file (loadHfTokenizer builds tokenizer.json from it).
  'vocab.txt',
] as const;

/** A minimal S3 client shape (`@aws-sdk/client-s3`'s S3Client satisfies it). */
export interface S3Sender {
  send(command: unknown): Promise<unknown>;
}

export interface CheckpointSourceOptions extends DownloadOptions {
  /** Base for relative paths. @defaultValue cwd */
  baseDir?: string;
  /** @defaultValue `$RDLAB_CACHE_DIR/checkpoints`, else `~/.cache/rdlab/checkpoints` */
  cacheDir?: string;
  /** Injected fetch (tests). @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
  /** S3 client; default: the store's client from the environment (`RDLAB_S3_ENDPOINT`, …). */
  s3?: S3Sender;
  /** How long to wait for another process's download of the same reference. @defaultValue 2 h */
  lockWaitMs?: number;
}

/** Gets one file of the source; null when the source has no such file. */
type Getter = (name: string) => Promise<FetchedBody | null>;

const inFlight = new Map<string, Promise<string>>();

/** The local folder of checkpoint `ref`, downloading it into the cache first if it is remote. */
export async function resolveCheckpoint(
  ref: string,
  options: CheckpointSourceOptions = {},
): Promise<string> {
  if (!/^(https?|s3):\/\//.test(ref)) {
    const path = ref.startsWith('file://')
      ? fileURLToPath(ref)
      : isAbsolute(ref)
        ? ref
        : resolve(options.baseDir ?? process.cwd(), ref);
    if (!(await stat(path).catch(() => null))?.isDirectory())
      throw new ModelFileError('RDLAB_CHECKPOINT_MISSING', ref, `no such folder (${path})`);
    return path;
  }
  const key = ref.endsWith('/') ? ref : `${ref}/`;
  const dir = join(options.cacheDir ?? defaultCacheDir(), cacheName(key));
  const running = inFlight.get(dir);
  if (running) return running;
  const job = fetchInto(key, dir, options).finally(() => inFlight.delete(dir));
  inFlight.set(dir, job);
  return job;
}

/** The cache folder name of a reference: readable tail + hash of the whole. */
export function cacheName(ref: string): string {
  const hash = createHash('sha256').update(ref).digest('hex').slice(0, 24);
  const tail =
    ref
      .replace(/\/+$/, '')
      .split('/')
      .pop()
      ?.replace(/[^A-Za-z0-9._-]/g, '_') ?? '';
  return `${tail.slice(0, 40)}-${hash}`;
}

function defaultCacheDir(): string {
  return process.env.RDLAB_CACHE_DIR
    ? join(process.env.RDLAB_CACHE_DIR, 'checkpoints')
    : join(process.env.HOME ?? '/tmp', '.cache', 'rdlab', 'checkpoints');
}

const COMPLETE = '.complete';

async function fetchInto(ref: string, dir: string, options: CheckpointSourceOptions) {
  if (await exists(join(dir, COMPLETE))) return dir;
  await mkdir(dir, { recursive: true });
  const unlock = await lock(`${dir}.lock`, join(dir, COMPLETE), options.lockWaitMs ?? 7_200_000);
  if (unlock === null) return dir; // another process finished it while we waited
  try {
    const get = ref.startsWith('s3://') ? await s3Getter(ref, options) : httpGetter(ref, options);
    const fetchFile = async (name: string, required: boolean): Promise<boolean> => {
      const first = await get(name);
      if (first === null) {
        if (required)
          throw new ModelFileError('RDLAB_CHECKPOINT_DOWNLOAD', `${ref}${name}`, 'not found');
        return false;
      }
      let pending: FetchedBody | null = first;
      await downloadVerified(
        `${ref}${name}`,
        join(dir, name),
        async () => {
          const got = pending ?? (await get(name));
          pending = null;
          if (got === null)
            throw new ModelFileError('RDLAB_CHECKPOINT_DOWNLOAD', `${ref}${name}`, 'not found');
          return got;
        },
        options,
      );
      return true;
    };
    await fetchFile('config.json', true);
    for (const name of CHECKPOINT_OPTIONAL_FILES) await fetchFile(name, false);
    if (await fetchFile(WEIGHTS_INDEX_FILE, false)) {
      const index = JSON.parse(await readFile(join(dir, WEIGHTS_INDEX_FILE), 'utf8')) as {
        weight_map?: Record<string, string>;
      };
      const shards = [...new Set(Object.values(index.weight_map ?? {}))].sort();
      for (const shard of shards) {
        if (!/^[A-Za-z0-9._-]+$/.test(shard) || shard.startsWith('.'))
          throw new ModelFileError(
            'RDLAB_CHECKPOINT_MALFORMED',
            `${ref}${WEIGHTS_INDEX_FILE}`,
            `shard name '${shard}' is not a plain file name`,
          );
        await fetchFile(shard, true);
      }
    } else if (!(await fetchFile(WEIGHTS_FILE, false))) {
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_DOWNLOAD',
        ref,
        `has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE}`,
      );
    }
    await writeFile(join(dir, COMPLETE), `${new Date().toISOString()}\n`);
    return dir;
  } catch (error) {
    await rm(dir, { recursive: true, force: true }); // never leave part of a checkpoint
    throw error;
  } finally {
    await unlock();
  }
}

function httpGetter(ref: string, options: CheckpointSourceOptions): Getter {
  const doFetch = options.fetch ?? globalThis.fetch;
  const request = async (url: string): Promise<Response | null> => {
    let response: Response;
    try {
      response = await doFetch(url);
    } catch (error) {
      throw new ModelFileError('RDLAB_CHECKPOINT_DOWNLOAD', url, (error as Error).message);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ModelFileError('RDLAB_CHECKPOINT_DOWNLOAD', url, `HTTP ${response.status}`);
    }
    return response;
  };
  return async (name) => {
    const url = new URL(name, ref).href;
    const response = await request(url);
    if (!response?.body) return null;
    let sha256 =
      response.headers.get('x-checksum-sha256') ?? response.headers.get('x-amz-meta-rdlab-sha256');
    if (!sha256) {
      const sidecar = await request(`${url}.sha256`).catch(() => null);
      const text = sidecar ? await sidecar.text() : '';
      sha256 = /^[0-9a-fA-F]{64}/.exec(text.trim())?.[0] ?? null;
    }
    const length = response.headers.get('content-length');
    return {
      body: response.body as unknown as AsyncIterable<Uint8Array>,
      sha256: sha256 && /^[0-9a-fA-F]{64}$/.test(sha256) ? sha256 : null,
      bytes: length !== null ? Number(length) : null,
    };
  };
}

async function s3Getter(ref: string, options: CheckpointSourceOptions): Promise<Getter> {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(ref);
  if (!match)
    throw new ModelFileError('RDLAB_CHECKPOINT_DOWNLOAD', ref, 'expected s3://bucket/prefix');
  const [, bucket, prefix] = match as unknown as [string, string, string];
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const { META_BYTES, META_SHA256, createS3Client, s3OptionsFromEnv } = await import(
    '@rdlab/store'
  );
  const client = options.s3 ?? createS3Client(s3OptionsFromEnv()).client;
  return async (name) => {
    let out: {
      Body?: AsyncIterable<Uint8Array>;
      ContentLength?: number;
      Metadata?: Record<string, string>;
    };
    try {
      out = (await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${name}` }),
      )) as typeof out;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_DOWNLOAD',
        `${ref}${name}`,
        (error as Error).message,
      );
    }
    if (!out.Body) return null;
    const recorded = out.Metadata?.[META_BYTES];
    return {
      body: out.Body,
      sha256: out.Metadata?.[META_SHA256] ?? null,
      bytes: recorded !== undefined ? Number(recorded) : (out.ContentLength ?? null),
    };
  };
}

/**
 * Takes the lock file `path` (created exclusively, holding our pid), waiting while another live
 * process holds it. Returns the release function, or null when `done` appeared while waiting.
 */
async function lock(
  path: string,
  done: string,
  waitMs: number,
): Promise<(() => Promise<void>) | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await exists(done)) return null;
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      await rm(path, { force: true }); // its process died: a stale lock
      continue;
    }
    if (Date.now() > deadline)
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_DOWNLOAD',
        path,
        'another process holds this download lock',
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
