/**
 * The tensor dtypes rdlab reads from safetensors files (F32, F16, BF16), their widths, and the
 * conversions of half-precision bits to float32. Little-endian hosts only (as the format).
 */

export const SAFETENSORS_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

export function isSupportedDtype(dtype: string): dtype is SafetensorsDtype {
  return (SAFETENSORS_DTYPES as readonly string[]).includes(dtype);
}

let f16Table: Float32Array | null = null;

/** IEEE half bits → float32, every one of the 65536 (subnormals, ±∞ and NaN included). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    table[h] =
      exponent === 0
        ? sign * 2 ** -14 * (fraction / 1024)
        : exponent === 31
          ? fraction
            ? Number.NaN
            : sign * Number.POSITIVE_INFINITY
          : sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  f16Table = table;
  return table;
}

/** Writes `bits` (F16 or BF16) as float32 into `out` from element `at`. */
export function halfBitsToFloat32(
  dtype: 'F16' | 'BF16',
  bits: Uint16Array,
  out: Float32Array,
  at = 0,
): void {
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer, out.byteOffset + at * 4, bits.length);
    for (let i = 0; i < bits.length; i++) u32[i] = (bits[i] as number) << 16;
    return;
  }
  const table = halfTable();
  for (let i = 0; i < bits.length; i++) out[at + i] = table[bits[i] as number] as number;
}

/** float32 → IEEE half bits, rounding to nearest even (for tests and writers). */
export function float32ToHalfBits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1;
  return sign | half;
}

/** float32 → bfloat16 bits, rounding to nearest even. */
export function float32ToBf16Bits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0] as number;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
