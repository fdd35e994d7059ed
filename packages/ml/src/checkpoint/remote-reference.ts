/**
 * The {@link ReferenceFiles} of a remote checkpoint reference, header-only: whole small files
 * (config.json, the tokenizer, the weights index) by GET, and a safetensors header by two Range
 * requests (its first 8 bytes, the little-endian header length, then the header). `https://`
 * through fetch, `s3://bucket/prefix` through the store's S3 client (as source.ts downloads them).
 * No weights are read.
 */
import type { ReferenceFiles } from './reference-files.js';
import type { S3Sender } from './source.js';

/** A missing file is null; an unreachable source throws {@link UnreachableError}. */
interface RemoteFiles {
  text(name: string): Promise<string | null>;
  /** Bytes `[start, end)` of `name`, or null when it does not exist. */
  range(name: string, start: number, end: number): Promise<Uint8Array | null>;
}

/** The reference could not be read (network, permissions, server errors): not the model's fault. */
export class UnreachableError extends Error {}

export interface RemoteOptions {
  fetch?: typeof fetch;
  s3?: S3Sender;
  /** Per request: a reference that does not answer in time is unreachable. @defaultValue 15 s */
  remoteTimeoutMs?: number;
}

/** Remote reference `ref`'s files (`https://…` or `s3://bucket/prefix`). */
export function remoteReferenceFiles(ref: string, options: RemoteOptions = {}): ReferenceFiles {
  const base = ref.endsWith('/') ? ref : `${ref}/`;
  const files = base.startsWith('s3://') ? s3Files(base, options) : httpFiles(base, options);
  return {
    where: (name) => `${base}${name}`,
    text: (name) => files.text(name),
    safetensorsShapes: (name) => safetensorsShapes(files, name),
  };
}

function httpFiles(base: string, options: RemoteOptions): RemoteFiles {
  const doFetch = options.fetch ?? globalThis.fetch;
  const get = async (name: string, headers: Record<string, string> = {}) => {
    // Encoded: a name is a file in the folder, never a path or URL of its own.
    const url = new URL(encodeURIComponent(name), base).href;
    let response: Response;
    try {
      response = await doFetch(url, {
        headers,
        signal: AbortSignal.timeout(options.remoteTimeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new UnreachableError(`${url}: ${(error as Error).message}`);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new UnreachableError(`${url}: HTTP ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  };
  return {
    text: async (name) => {
      const bytes = await get(name);
      return bytes === null ? null : new TextDecoder().decode(bytes);
    },
    range: async (name, start, end) => {
      const bytes = await get(name, { range: `bytes=${start}-${end - 1}` });
      // A server that ignores Range sends the whole file: keep the part asked for.
      return bytes === null ? null : bytes.subarray(0, end - start);
    },
  };
}

function s3Files(base: string, options: RemoteOptions): RemoteFiles {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(base);
  const [, bucket, prefix] = (match ?? []) as unknown as [string, string, string];
  const get = async (name: string, range?: string): Promise<Uint8Array | null> => {
    if (!match) throw new UnreachableError(`${base}: expected s3://bucket/prefix`);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client: S3Sender =
      options.s3 ??
      ((await import('@rdlab/store').then(
        (s) => s.createS3Client(s.s3OptionsFromEnv()).client,
      )) as S3Sender);
    let out: { Body?: { transformToByteArray(): Promise<Uint8Array> } };
    try {
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: `${prefix}${name}`,
        ...(range ? { Range: range } : {}),
      });
      const abortSignal = AbortSignal.timeout(options.remoteTimeoutMs ?? 15_000);
      out = (await (client as S3Sender & { send(c: unknown, o: unknown): Promise<unknown> }).send(
        command,
        { abortSignal },
      )) as typeof out;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return null;
      throw new UnreachableError(`${base}${name}: ${(error as Error).message}`);
    }
    return out.Body ? out.Body.transformToByteArray() : null;
  };
  return {
    text: async (name) => {
      const bytes = await get(name);
      return bytes === null ? null : new TextDecoder().decode(bytes);
    },
    range: async (name, start, end) => {
      const bytes = await get(name, `bytes=${start}-${end - 1}`);
      return bytes === null ? null : bytes.subarray(0, end - start);
    },
  };
}

/** The tensor shapes a remote safetensors file's header lists, or null when the file is absent. */
async function safetensorsShapes(
  files: RemoteFiles,
  name: string,
): Promise<Map<string, number[]> | null> {
  const head = await files.range(name, 0, 8);
  if (head === null) return null;
  if (head.length < 8) throw new Error(`${name}: shorter than a safetensors header`);
  const length = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (length <= 0 || length > 100_000_000)
    throw new Error(`${name}: a safetensors header of ${length} bytes`);
  const header = await files.range(name, 8, 8 + length);
  if (header === null || header.length < length)
    throw new Error(`${name}: the safetensors header is cut short`);
  const json = JSON.parse(new TextDecoder().decode(header)) as Record<string, { shape?: number[] }>;
  const shapes = new Map<string, number[]>();
  for (const [key, info] of Object.entries(json))
    if (key !== '__metadata__' && Array.isArray(info.shape)) shapes.set(key, info.shape);
  return shapes;
}
