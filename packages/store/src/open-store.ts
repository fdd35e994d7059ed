/**
 * A store from a location string, as the CLI, the API and the workers are configured: a local
 * directory, or `s3://bucket/prefix` with the endpoint from `RDLAB_S3_ENDPOINT` (or
 * `AWS_ENDPOINT_URL_S3`; MinIO, s3rver, Ceph), credentials from the AWS environment, and the
 * retries and timeouts of `RDLAB_S3_*` (see s3-client.ts).
 */
import { resolve } from 'node:path';
import { LocalDirectoryStore } from './local-store.js';
import { createS3Client, s3OptionsFromEnv } from './s3-client.js';
import { S3ArtifactStore } from './s3-store.js';
import type { ArtifactStore } from './store.js';

export async function openStore(
  location: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ArtifactStore> {
  if (!location.startsWith('s3://')) return new LocalDirectoryStore(resolve(location));
  const options = s3OptionsFromEnv(env);
  const { client } = createS3Client(options);
  return S3ArtifactStore.fromUrl(client, location, {
    readAttempts: options.readAttempts,
    readDelayMs: options.baseDelayMs,
  });
}
