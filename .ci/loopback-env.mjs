// The environment every test process runs in: tests never reach out of this machine. An S3
// client with no server of the test's own (a spec naming s3://rdlab-models/…, as the examples
// do) meets a closed loopback port, with dummy credentials, so the AWS SDK neither resolves a
// public endpoint nor asks an instance-metadata address for credentials. Values already set win.
export const LOOPBACK_ENV = {
  RDLAB_S3_ENDPOINT: 'http://127.0.0.1:9',
  RDLAB_S3_MAX_ATTEMPTS: '1',
  AWS_ACCESS_KEY_ID: 'rdlab-test',
  AWS_SECRET_ACCESS_KEY: 'rdlab-test',
  AWS_EC2_METADATA_DISABLED: 'true',
};

export const testEnv = (extra = {}) => ({ ...LOOPBACK_ENV, ...process.env, ...extra });
