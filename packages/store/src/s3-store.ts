/**
 * An artifact store in an S3 bucket (or any S3-compatible server: MinIO, s3rver, Ceph), under a
 * key prefix. Objects are written whole (PutObject, or a multipart upload completed at once), so
 * readers see the old object or the new one; listing pages through ListObjectsV2.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArtifactNotFoundError, type ArtifactStore, checkKey } from './store.js';

/** Multipart part size (S3's minimum is 5 MiB); objects up to one part go in one PutObject. */
export const PART_BYTES = 8 * 1024 * 1024;

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export class S3ArtifactStore implements ArtifactStore {
  private readonly prefix: string;

  /** `prefix` may be empty; otherwise keys live under `prefix/`. */
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
  ) {
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
  }

  /** An S3 store from `s3://bucket/prefix`. */
  static fromUrl(client: S3Client, url: string): S3ArtifactStore {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
    if (!match) throw new Error(`'${url}' is not an s3://bucket/prefix URL`);
    return new S3ArtifactStore(client, match[1] as string, match[2] ?? '');
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

  async get(key: string): Promise<Uint8Array> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      if (!out.Body) throw new ArtifactNotFoundError(key, this.location);
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (isMissing(error)) throw new ArtifactNotFoundError(key, this.location);
      throw error;
    }
  }

  /**
   * Small objects in one PutObject; large ones (checkpoints of real models, shards) as a
   * multipart upload in parts of {@link PART_BYTES}, several in flight (`@aws-sdk/lib-storage`).
   * Either way readers see no object until it is whole, and a failed upload is aborted.
   */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const target = { Bucket: this.bucket, Key: this.objectKey(key), Body: bytes };
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
