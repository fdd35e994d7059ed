/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets}}`, then the raw little-endian data. rdlab writes F32 and
 * reads F32, F16 and BF16 (converted to F32).
 */
import { readFile, writeFile } from 'node:fs/promises';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type TensorMap = Map<string, NamedTensor>;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

export function decodeSafetensors(bytes: Uint8Array): {
  tensors: TensorMap;
  metadata: Record<string, string>;
} {
  if (bytes.byteLength < 8)
    throw new Error('safetensors: file is shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength)
    throw new Error('safetensors: header length runs past the end of the file');
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)),
  ) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  const base = 8 + headerLength;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: [start, end],
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const size = shape.reduce((a, b) => a * b, 1);
    const width = DTYPE_BYTES[dtype];
    if (width === undefined)
      throw new Error(
        `safetensors: tensor '${name}' has dtype ${dtype}; rdlab reads F32, F16 and BF16`,
      );
    if (end - start !== size * width)
      throw new Error(
        `safetensors: tensor '${name}' has ${end - start} bytes for shape [${shape}] of ${dtype}`,
      );
    const data = new Float32Array(size);
    const at = base + start;
    if (dtype === 'F32') {
      data.set(new Float32Array(bytes.slice(at, at + size * 4).buffer));
    } else if (dtype === 'BF16') {
      const u32 = new Uint32Array(data.buffer);
      for (let i = 0; i < size; i++) u32[i] = view.getUint16(at + 2 * i, true) << 16;
    } else {
      for (let i = 0; i < size; i++) data[i] = halfToFloat(view.getUint16(at + 2 * i, true));
    }
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}

export function encodeSafetensors(
  tensors: TensorMap,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name) as NamedTensor;
    header[name] = {
      dtype: 'F32',
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // data starts 8-byte aligned, as Hugging Face writes it
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const name of names) {
    const t = tensors.get(name) as NamedTensor;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export async function readSafetensors(path: string) {
  return decodeSafetensors(new Uint8Array(await readFile(path)));
}

export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFile(path, encodeSafetensors(tensors, metadata));
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
