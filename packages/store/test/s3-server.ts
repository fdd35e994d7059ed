/** s3rver in-process on loopback, with its buckets made: the S3-compatible server of tests. */
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** The credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Where s3rver keeps `<bucket>/<key>._S3rver_object` files. */
  readonly directory: string;
  close(): Promise<void>;
}

export async function startS3Server(directory: string, buckets: string[]): Promise<S3Server> {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const { port } = (await server.run()) as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: url,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return { url, directory, close: () => server.close() };
}
