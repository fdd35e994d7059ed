/**
 * A store from a location string, as the CLI, the API and the workers are configured: a local
 * directory, or `s3://bucket/prefix` with the endpoint from `RDLAB_S3_ENDPOINT` (or
 * `AWS_ENDPOINT_URL_S3`; MinIO, s3rver, Ceph) and credentials from the AWS environment.
 */
import { resolve } from 'node:path';
import { LocalDirectoryStore } from './local-store.js';
import { S3ArtifactStore } from './s3-store.js';
import type { ArtifactStore } from './store.js';

export async function openStore(
  location: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ArtifactStore> {
  if (!location.startsWith('s3://')) return new LocalDirectoryStore(resolve(location));
  const { S3Client } = await import('@aws-sdk/client-s3');
  const endpoint = env.RDLAB_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3;
  const client = new S3Client({
    region: env.AWS_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
  return S3ArtifactStore.fromUrl(client, location);
}
