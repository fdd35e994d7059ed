/**
 * One safetensors file of any size, read tensor by tensor: the 8-byte header length and the JSON
 * header at open, then each tensor's bytes with positional reads into its own typed array, so no
 * Buffer ever holds the file (Node's readFile stops at 2 GiB) and an engine can copy each tensor
 * into its own memory and drop the JS copy. F32 reads as Float32Array; F16 and BF16 convert to
 * Float32Array in chunks, or stay raw half bits (Uint16Array) with `{ raw: true }`.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { ModelFileError } from '../errors.js';
import {
  DTYPE_BYTES,
  halfBitsToFloat32,
  isSupportedDtype,
  type SafetensorsDtype,
} from './dtype.js';

/** Where a tensor lives: its file and the absolute byte range in it. */
export interface TensorInfo {
  name: string;
  /** The dtype as the header spells it (F32, F16, BF16 are read; others are listed only). */
  dtype: string;
  shape: number[];
  file: string;
  /** Absolute offset of the first byte in `file`. */
  byteOffset: number;
  byteLength: number;
}

export interface ReadTensorOptions {
  /** Keep F16/BF16 as their raw 16-bit patterns (Uint16Array) instead of float32. @defaultValue false */
  raw?: boolean;
}

export interface LoadedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Float32Array, or with `raw` and a half dtype, the Uint16Array of its bits. */
  data: Float32Array | Uint16Array;
}

/** Header JSON larger than this is taken as damage, not a header (Hugging Face caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
/** Bytes per positional read (a read(2) moves at most ~2 GiB) and per half→float chunk. */
const READ_CHUNK = 64 * 1024 * 1024;

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    /** File size in bytes. */
    readonly size: number,
    readonly metadata: Readonly<Record<string, string>>,
    /** Every tensor of the header, in file order. */
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    private handle: FileHandle | null,
  ) {}

  /** Opens `path` and reads and checks its header (offsets inside the file, sizes matching shapes). */
  static async open(path: string): Promise<SafetensorsFile> {
    if (endianness() !== 'LE')
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_MALFORMED',
        path,
        'big-endian hosts are not supported',
      );
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ModelFileError(
        code === 'ENOENT' ? 'RDLAB_CHECKPOINT_MISSING' : 'RDLAB_CHECKPOINT_MALFORMED',
        path,
        code === 'ENOENT' ? 'no such file' : (error as Error).message,
      );
    }
    try {
      const size = (await handle.stat()).size;
      const bad = (detail: string) =>
        new ModelFileError('RDLAB_CHECKPOINT_MALFORMED', path, detail);
      if (size < 8) throw bad(`${size} bytes: shorter than the 8-byte header length`);
      const lengthBytes = await readExactly(handle, new Uint8Array(8), 0, path);
      const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
      if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size)
        throw bad(`header length ${headerLength} does not fit a ${size}-byte file`);
      const headerBytes = await readExactly(handle, new Uint8Array(headerLength), 8, path);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(new TextDecoder().decode(headerBytes)) as Record<string, unknown>;
      } catch (error) {
        throw bad(`header is not valid JSON (${(error as Error).message})`);
      }
      if (typeof header !== 'object' || header === null || Array.isArray(header))
        throw bad('header is not a JSON object');
      const base = 8 + headerLength;
      let metadata: Record<string, string> = {};
      const list: TensorInfo[] = [];
      for (const [name, entry] of Object.entries(header)) {
        if (name === '__metadata__') {
          metadata = (entry ?? {}) as Record<string, string>;
          continue;
        }
        const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
        const offsets = e.data_offsets;
        if (
          typeof e.dtype !== 'string' ||
          !Array.isArray(e.shape) ||
          !e.shape.every((d) => Number.isInteger(d) && d >= 0) ||
          !Array.isArray(offsets) ||
          offsets.length !== 2 ||
          !offsets.every((o) => Number.isInteger(o) && o >= 0)
        )
          throw bad(`tensor '${name}' has no valid dtype, shape and data_offsets`);
        const [start, end] = offsets as [number, number];
        if (end < start || base + end > size)
          throw bad(
            `tensor '${name}' has data_offsets [${start}, ${end}] outside the file's ${size - base} data bytes`,
          );
        const shape = e.shape as number[];
        if (isSupportedDtype(e.dtype)) {
          const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype];
          if (end - start !== expected)
            throw bad(
              `tensor '${name}' has ${end - start} bytes for shape [${shape}] of ${e.dtype} (${expected} expected)`,
            );
        }
        list.push({
          name,
          dtype: e.dtype,
          shape,
          file: path,
          byteOffset: base + start,
          byteLength: end - start,
        });
      }
      list.sort((a, b) => a.byteOffset - b.byteOffset);
      return new SafetensorsFile(
        path,
        size,
        metadata,
        new Map(list.map((t) => [t.name, t])),
        handle,
      );
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Reads one tensor into a new typed array of its own. */
  async read(name: string, options: ReadTensorOptions = {}): Promise<LoadedTensor> {
    const info = this.tensors.get(name);
    if (!info)
      throw new ModelFileError('RDLAB_CHECKPOINT_MALFORMED', this.path, `has no tensor '${name}'`);
    if (!this.handle) throw new Error(`safetensors: ${this.path} is closed`);
    return readTensor(this.handle, info, options);
  }

  /** Yields the tensors (all, or those in `names`) one at a time, in file order. */
  async *entries(
    options: ReadTensorOptions & { names?: Iterable<string> } = {},
  ): AsyncGenerator<LoadedTensor> {
    const wanted = options.names ? new Set(options.names) : null;
    for (const info of this.tensors.values())
      if (!wanted || wanted.has(info.name)) yield await this.read(info.name, options);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}

/** Reads `info`'s bytes from an open file handle into a typed array of their own. */
export async function readTensor(
  handle: FileHandle,
  info: TensorInfo,
  options: ReadTensorOptions = {},
): Promise<LoadedTensor> {
  const { name, dtype, shape, file, byteOffset, byteLength } = info;
  if (!isSupportedDtype(dtype))
    throw new ModelFileError(
      'RDLAB_CHECKPOINT_DTYPE',
      `${file}: tensor '${name}'`,
      `dtype ${dtype} is not read by rdlab (F32, F16, BF16)`,
    );
  if (dtype === 'F32') {
    const data = new Float32Array(byteLength / 4);
    await readExactly(handle, new Uint8Array(data.buffer), byteOffset, file, name);
    return { name, dtype, shape, data };
  }
  if (options.raw) {
    const data = new Uint16Array(byteLength / 2);
    await readExactly(handle, new Uint8Array(data.buffer), byteOffset, file, name);
    return { name, dtype, shape, data };
  }
  // Half → float32 in chunks: the file's bits never sit whole beside the float32 copy.
  const data = new Float32Array(byteLength / 2);
  const chunk = new Uint16Array(Math.min(READ_CHUNK / 2, data.length));
  for (let at = 0; at < data.length; at += chunk.length) {
    const bits = chunk.subarray(0, Math.min(chunk.length, data.length - at));
    await readExactly(
      handle,
      new Uint8Array(bits.buffer, 0, bits.byteLength),
      byteOffset + at * 2,
      file,
      name,
    );
    halfBitsToFloat32(dtype, bits, data, at);
  }
  return { name, dtype, shape, data };
}

/** Fills `into` from `position` with positional reads; a short file is a malformed checkpoint. */
async function readExactly(
  handle: FileHandle,
  into: Uint8Array,
  position: number,
  file: string,
  tensor?: string,
): Promise<Uint8Array> {
  let done = 0;
  while (done < into.byteLength) {
    const length = Math.min(READ_CHUNK, into.byteLength - done);
    const { bytesRead } = await handle.read(into, done, length, position + done);
    if (bytesRead === 0)
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_MALFORMED',
        tensor ? `${file}: tensor '${tensor}'` : file,
        `the file ends at byte ${position + done}, before the ${into.byteLength} bytes at ${position} were read`,
      );
    done += bytesRead;
  }
  return into;
}
