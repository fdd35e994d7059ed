/**
 * An artifact store in an S3 bucket (or any S3-compatible server: MinIO, s3rver, Ceph), under a
 * key prefix. Objects are written whole (PutObject, or a multipart upload completed at once), so
 * readers see the old object or the new one; listing pages through ListObjectsV2.
 *
 * End-to-end checksums: every put records the object's length and SHA-256 in its user metadata
 * (`x-amz-meta-rdlab-bytes`, `x-amz-meta-rdlab-sha256`: works on any S3-compatible server,
 * s3rver included, which ignores the SDK's flexible checksums), and every get checks them. A body
 * cut short, or complete but wrong, is read again (`readAttempts` in all); what is still wrong
 * after that is damaged in the store: `RDLAB_STORE_CORRUPT`, never the bytes. Objects written
 * before checksums (no metadata) are checked against their Content-Length only.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sha256Hex } from './checksum.js';
import { ArtifactCorruptError } from './errors.js';
import { S3_STORE_DEFAULTS } from './s3-client.js';
import { backoffStepMs } from './s3-retry.js';
import { ArtifactNotFoundError, type ArtifactStore, checkKey } from './store.js';

/** Multipart part size (S3's minimum is 5 MiB); objects up to one part go in one PutObject. */
export const PART_BYTES = 8 * 1024 * 1024;

/**
 * User metadata of every object this store writes (S3 lower-cases the names). Exported so that
 * other readers of the bucket (checkpoint downloads) check the same SHA-256 and length.
 */
export const META_SHA256 = 'rdlab-sha256';
export const META_BYTES = 'rdlab-bytes';

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export interface S3ArtifactStoreOptions {
  /** Whole reads of one object before a cut or wrong body is an error. @defaultValue 3 */
  readAttempts: number;
  /** Backoff step before the second read, in ms, doubled after each. @defaultValue 250 */
  readDelayMs: number;
}

/** What the store's own read checks have seen (the client's retries are counted by its strategy). */
export interface S3ReadCounts {
  /** Objects read whole and verified. */
  reads: number;
  /** Bodies that broke off mid-transfer (connection reset, timeout). */
  cutBodies: number;
  /** Bodies complete by HTTP but not the bytes written: wrong length or SHA-256. */
  mismatches: number;
  /** Reads repeated after either of those. */
  rereads: number;
  /** Keys reported `RDLAB_STORE_CORRUPT`. */
  corrupt: number;
}

/** The outcome of one whole read. */
type Read = { bytes: Uint8Array } | { cut: unknown } | { mismatch: string };

export class S3ArtifactStore implements ArtifactStore {
  readonly counts: S3ReadCounts = { reads: 0, cutBodies: 0, mismatches: 0, rereads: 0, corrupt: 0 };
  private readonly prefix: string;
  private readonly options: S3ArtifactStoreOptions;

  /** `prefix` may be empty; otherwise keys live under `prefix/`. */
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
    options: Partial<S3ArtifactStoreOptions> = {},
  ) {
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
    this.options = {
      readAttempts: S3_STORE_DEFAULTS.readAttempts,
      readDelayMs: S3_STORE_DEFAULTS.baseDelayMs,
      ...options,
    };
  }

  /** An S3 store from `s3://bucket/prefix`. */
  static fromUrl(
    client: S3Client,
    url: string,
    options: Partial<S3ArtifactStoreOptions> = {},
  ): S3ArtifactStore {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
    if (!match) throw new Error(`'${url}' is not an s3://bucket/prefix URL`);
    return new S3ArtifactStore(client, match[1] as string, match[2] ?? '', options);
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  private objectKey(key: string): string {
    checkKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /**
   * The object's bytes, verified against the length and SHA-256 recorded at put. A cut or wrong
   * body is read again, after a backoff; still wrong after `readAttempts` reads: `RDLAB_STORE_CORRUPT`.
   * Still cut: the last transfer error (the store is unwell, not the object).
   */
  async get(key: string): Promise<Uint8Array> {
    const objectKey = this.objectKey(key);
    const { readAttempts, readDelayMs } = this.options;
    let last: Read | null = null;
    for (let attempt = 1; attempt <= readAttempts; attempt++) {
      if (attempt > 1) {
        this.counts.rereads += 1;
        const step = backoffStepMs(
          { baseDelayMs: readDelayMs, maxDelayMs: 20 * readDelayMs, maxAttempts: readAttempts },
          attempt - 1,
        );
        await new Promise((r) => setTimeout(r, step / 2 + Math.random() * (step / 2)));
      }
      last = await this.readOnce(key, objectKey);
      if ('bytes' in last) {
        this.counts.reads += 1;
        return last.bytes;
      }
      if ('cut' in last) this.counts.cutBodies += 1;
      else this.counts.mismatches += 1;
    }
    if (last && 'mismatch' in last) {
      this.counts.corrupt += 1;
      throw new ArtifactCorruptError(key, this.location, last.mismatch, readAttempts);
    }
    throw (last as { cut: unknown }).cut;
  }

  /** One GetObject, its body read whole and checked. */
  private async readOnce(key: string, objectKey: string): Promise<Read> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (error) {
      if (isMissing(error)) throw new ArtifactNotFoundError(key, this.location);
      throw error;
    }
    if (!out.Body) throw new ArtifactNotFoundError(key, this.location);
    let bytes: Uint8Array;
    try {
      bytes = await out.Body.transformToByteArray();
    } catch (error) {
      return { cut: error };
    }
    const problem = checkBody(bytes, out.ContentLength, out.Metadata ?? {});
    return problem ? { mismatch: problem } : { bytes };
  }

  /**
   * Small objects in one PutObject; large ones (checkpoints of real models, shards) as a
   * multipart upload in parts of {@link PART_BYTES}, several in flight (`@aws-sdk/lib-storage`).
   * Either way readers see no object until it is whole, and a failed upload is aborted.
   */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const target = {
      Bucket: this.bucket,
      Key: this.objectKey(key),
      Body: bytes,
      Metadata: { [META_BYTES]: String(bytes.byteLength), [META_SHA256]: sha256Hex(bytes) },
    };
    if (bytes.byteLength <= PART_BYTES) {
      await this.client.send(new PutObjectCommand(target));
      return;
    }
    await new Upload({
      client: this.client,
      params: target,
      partSize: PART_BYTES,
      queueSize: 4,
    }).done();
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.prefix ? `${this.prefix}/` : '';
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: base + prefix,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key.slice(base.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
    );
  }
}

/** Why `bytes` are not the object that was written, or null when they are. */
function checkBody(
  bytes: Uint8Array,
  contentLength: number | undefined,
  metadata: Record<string, string>,
): string | null {
  const recorded = metadata[META_BYTES];
  const expected = recorded !== undefined ? Number(recorded) : contentLength;
  if (expected !== undefined && bytes.byteLength !== expected)
    return `${bytes.byteLength} bytes read, ${expected} written`;
  const sha256 = metadata[META_SHA256];
  if (sha256 !== undefined) {
    const actual = sha256Hex(bytes);
    if (actual !== sha256)
      return `SHA-256 ${actual.slice(0, 12)}…, written ${sha256.slice(0, 12)}…`;
  }
  return null;
}
