/** Local files of a stage: scratch directories and checkpoints the spec names by path. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { StageContext } from './ports.js';

/** A local path of a checkpoint the spec names (relative to the spec's folder). */
export function checkpointPath(ctx: StageContext, ref: string): string {
  if (ref.startsWith('s3://') || ref.startsWith('https://')) {
    throw new Error(
      `checkpoint ${ref}: remote checkpoints are fetched by the service's artifact store; in a local run give a directory`,
    );
  }
  const path = ref.startsWith('file://') ? new URL(ref).pathname : ref;
  return isAbsolute(path) ? path : resolve(ctx.baseDir, path);
}

/** Runs `fn` with a fresh directory under the context's work folder, removed afterwards. */
export async function withScratch<T>(
  ctx: StageContext,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  await mkdir(ctx.workDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.workDir, 'stage-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
