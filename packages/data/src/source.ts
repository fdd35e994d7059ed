/**
 * Where dataset files come from: a path (relative to the spec's folder), `file://`, `s3://`
 * or `https://`. Remote files are downloaded once into a cache, each with a SHA-256 recorded
 * beside it: a cached copy that no longer matches is fetched again; a URL ending in
 * `#sha256=<hex>` must match that digest.
 *
 * A source that ends with `/` (or is a local directory) holds split files by name; any other
 * source is one file that serves every split.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetError } from './errors.js';

/** A minimal S3 client shape (the AWS SDK's S3Client satisfies it). */
export interface S3Like {
  send(command: unknown): Promise<unknown>;
}

export interface SourceOptions {
  /** Folder relative paths resolve against (the spec file's folder). @defaultValue cwd */
  baseDir?: string;
  /** Where downloads are kept. @defaultValue `$RDLAB_CACHE_DIR` or `~/.cache/rdlab/datasets` */
  cacheDir?: string;
  /** S3 client for `s3://` sources; default: one from `@aws-sdk/client-s3` and the environment. */
  s3?: S3Like;
  /** Injected fetch, for tests. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

export interface OpenSource {
  /** The source as given. */
  uri: string;
  /** True when the source is one file that serves every split. */
  singleFile: boolean;
  /** The file's name (single file) or null. */
  fileName: string | null;
  /** Reads a file of the source: `name` within a folder source, ignored for a single file. */
  read(name: string): Promise<string>;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function defaultCacheDir(): string {
  return (
    process.env.RDLAB_CACHE_DIR ?? join(process.env.HOME ?? '/tmp', '.cache', 'rdlab', 'datasets')
  );
}

/** Reads a cached download, or fetches it and records its checksum. */
async function cached(
  cacheDir: string,
  key: string,
  expectedSha: string | null,
  download: () => Promise<Uint8Array>,
): Promise<string> {
  const dir = join(cacheDir, sha256(key).slice(0, 24));
  const file = join(dir, 'data');
  const sumFile = join(dir, 'sha256');
  const [data, recorded] = await Promise.all([
    readFile(file).catch(() => null),
    readFile(sumFile, 'utf8').catch(() => null),
  ]);
  if (
    data &&
    recorded &&
    sha256(data) === recorded.trim() &&
    (!expectedSha || recorded.trim() === expectedSha)
  ) {
    return data.toString('utf8');
  }
  const bytes = await download();
  const actual = sha256(bytes);
  if (expectedSha && actual !== expectedSha) {
    throw new DatasetError(
      'RDLAB_DATA_CHECKSUM',
      `${key}: downloaded SHA-256 ${actual} does not match the expected ${expectedSha}`,
    );
  }
  await mkdir(dir, { recursive: true });
  // Write then rename, so a crash never leaves a half file that looks complete.
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
  await writeFile(sumFile, actual);
  return Buffer.from(bytes).toString('utf8');
}

export async function openSource(uri: string, options: SourceOptions = {}): Promise<OpenSource> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  if (uri.startsWith('https://') || uri.startsWith('http://')) {
    const [base, fragment] = uri.split('#') as [string, string | undefined];
    const expected = fragment?.startsWith('sha256=') ? fragment.slice(7).toLowerCase() : null;
    const singleFile = !base.endsWith('/');
    const doFetch = options.fetch ?? globalThis.fetch;
    return {
      uri,
      singleFile,
      fileName: singleFile ? basename(new URL(base).pathname) : null,
      read: (name) => {
        const url = singleFile ? base : new URL(name, base).href;
        return cached(cacheDir, url, singleFile ? expected : null, async () => {
          let response: Response;
          try {
            response = await doFetch(url);
          } catch (error) {
            throw new DatasetError(
              'RDLAB_DATA_SOURCE',
              `${url}: download failed (${(error as Error).message})`,
            );
          }
          if (!response.ok)
            throw new DatasetError('RDLAB_DATA_SOURCE', `${url}: HTTP ${response.status}`);
          return new Uint8Array(await response.arrayBuffer());
        });
      },
    };
  }
  if (uri.startsWith('s3://')) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) throw new DatasetError('RDLAB_DATA_SOURCE', `${uri}: expected s3://bucket/key`);
    const [, bucket, key] = match as unknown as [string, string, string];
    const singleFile = key !== '' && !key.endsWith('/');
    const client = options.s3 ?? (await defaultS3());
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    return {
      uri,
      singleFile,
      fileName: singleFile ? basename(key) : null,
      read: (name) => {
        const objectKey = singleFile ? key : `${key}${name}`;
        return cached(cacheDir, `s3://${bucket}/${objectKey}`, null, async () => {
          try {
            const out = (await client.send(
              new GetObjectCommand({ Bucket: bucket, Key: objectKey }),
            )) as { Body?: { transformToByteArray(): Promise<Uint8Array> } };
            if (!out.Body) throw new Error('empty body');
            return await out.Body.transformToByteArray();
          } catch (error) {
            throw new DatasetError(
              'RDLAB_DATA_UNREADABLE',
              `s3://${bucket}/${objectKey}: ${(error as Error).name === 'NoSuchKey' ? 'no such object' : (error as Error).message}`,
            );
          }
        });
      },
    };
  }
  const path = uri.startsWith('file://')
    ? fileURLToPath(uri)
    : isAbsolute(uri)
      ? uri
      : resolve(options.baseDir ?? process.cwd(), uri);
  const info = await stat(path).catch(() => null);
  if (!info)
    throw new DatasetError(
      'RDLAB_DATA_UNREADABLE',
      `${uri}: no such file or directory (resolved to ${path})`,
    );
  const singleFile = info.isFile();
  return {
    uri,
    singleFile,
    fileName: singleFile ? basename(path) : null,
    read: async (name) => {
      const file = singleFile ? path : join(path, name);
      try {
        return await readFile(file, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new DatasetError(
          'RDLAB_DATA_UNREADABLE',
          `${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
        );
      }
    },
  };
}

async function defaultS3(): Promise<S3Like> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const endpoint = process.env.RDLAB_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL_S3;
  return new S3Client({
    region: process.env.AWS_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
}
