/**
 * Test helpers (not exported from the package): safetensors files and shard folders written
 * with streaming, positional writes (or sparse, holes for the bytes not given), never one Buffer.
 */
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DTYPE_BYTES, type SafetensorsDtype } from './dtype.js';

export interface TensorSpec {
  name: string;
  dtype: SafetensorsDtype | 'I64';
  shape: number[];
  /**
   * Fills `out` (raw little-endian bytes of elements `first`…) for a full write; without it the
   * tensor's bytes are a hole of zeros (sparse file) except `points`.
   */
  fill?: (out: Uint8Array, first: number) => void;
  /** Element index → raw element bytes, written after the fill (or into the hole). */
  points?: Array<[number, Uint8Array]>;
}

const CHUNK = 16 * 1024 * 1024;

function width(dtype: TensorSpec['dtype']): number {
  return dtype === 'I64' ? 8 : DTYPE_BYTES[dtype];
}

/** Writes one safetensors file; returns its size in bytes. */
export async function writeShard(path: string, tensors: TensorSpec[]): Promise<number> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * width(t.dtype);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const head = Buffer.from(json);
  const base = 8 + head.byteLength;
  const file = await open(path, 'w');
  try {
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(head.byteLength));
    await file.write(length, 0, 8, 0);
    await file.write(head, 0, head.byteLength, 8);
    let at = base;
    const chunk = new Uint8Array(CHUNK);
    for (const t of tensors) {
      const w = width(t.dtype);
      const bytes = t.shape.reduce((a, b) => a * b, 1) * w;
      if (t.fill)
        for (let done = 0; done < bytes; done += CHUNK) {
          const part = chunk.subarray(0, Math.min(CHUNK, bytes - done));
          t.fill(part, done / w);
          await file.write(part, 0, part.byteLength, at + done);
        }
      for (const [index, raw] of t.points ?? [])
        await file.write(raw, 0, raw.byteLength, at + index * w);
      at += bytes;
    }
    await file.truncate(at);
    return at;
  } finally {
    await file.close();
  }
}

/** Writes the shards and `model.safetensors.index.json` into `dir`; returns the total bytes. */
export async function writeShardedCheckpoint(
  dir: string,
  shards: Record<string, TensorSpec[]>,
): Promise<number> {
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (const [file, tensors] of Object.entries(shards)) {
    total += await writeShard(join(dir, file), tensors);
    for (const t of tensors) weightMap[t.name] = file;
  }
  await writeFile(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }),
  );
  return total;
}

export function f32Bytes(value: number): Uint8Array {
  return new Uint8Array(new Float32Array([value]).buffer);
}

export function u16Bytes(bits: number): Uint8Array {
  return new Uint8Array(new Uint16Array([bits]).buffer);
}
