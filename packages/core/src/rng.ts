/**
 * Seeded random numbers that give the same stream on every machine.
 *
 * The generator is xoshiro128** (Blackman & Vigna) on 32-bit integer arithmetic (`Math.imul`,
 * `>>> 0`), so its output never depends on the platform's floating point. Streams for
 * independent pieces of work (a shard, a cell, a dropout step) are derived from a root seed and
 * a label with {@link deriveSeed}, not from the order in which they are requested: shard 7 draws
 * the same samples whether it runs first, last, or alone on another worker.
 */

/** A seed: an integer, or any string (hashed). */
export type Seed = number | string;

/** 53-bit string hash (cyrb53): stable, fast, well mixed; not cryptographic. */
export function hash53(text: string, salt = 0): number {
  let h1 = 0xdeadbeef ^ salt;
  let h2 = 0x41c6ce57 ^ salt;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * A child seed for a named piece of work: `deriveSeed(seed, 'shard', 7)`.
 * The same parts give the same seed; different parts give unrelated streams.
 */
export function deriveSeed(seed: Seed, ...parts: Array<string | number>): number {
  return hash53([String(seed), ...parts.map(String)].join('\u001f'));
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: Seed) {
    // SplitMix32 expands the seed into 128 bits of state, so nearby seeds give unrelated streams.
    let x =
      (typeof seed === 'number' && Number.isSafeInteger(seed) ? seed : hash53(String(seed))) >>> 0;
    const hi = typeof seed === 'number' ? Math.floor(Math.abs(seed) / 4294967296) >>> 0 : 0;
    x ^= Math.imul(hi, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /**
   * The generator's 128-bit state (xoshiro128** s0…s3), for engines that draw from the same
   * stream in native code: they take it, draw, and hand back the state they ended at.
   * A pending Box–Muller spare is not part of it (engines draw uniforms only).
   */
  getState(): Uint32Array {
    return Uint32Array.of(this.s0, this.s1, this.s2, this.s3);
  }

  setState(state: ArrayLike<number>): void {
    if (state.length !== 4) throw new RangeError(`Rng.setState: 4 words, got ${state.length}`);
    this.s0 = (state[0] as number) | 0;
    this.s1 = (state[1] as number) | 0;
    this.s2 = (state[2] as number) | 0;
    this.s3 = (state[3] as number) | 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new RangeError(`Rng.int(n): n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** A standard normal draw (Box–Muller; the second value of each pair is kept). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** `k` distinct integers from [0, n), in the order drawn (partial Fisher–Yates). */
  choose(n: number, k: number): number[] {
    if (k > n || k < 0) throw new RangeError(`Rng.choose: k must be in [0, n=${n}], got ${k}`);
    const pool = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const vj = pool.get(j) ?? j;
      const vi = pool.get(i) ?? i;
      pool.set(j, vi);
      out.push(vj);
    }
    return out;
  }

  /** An index drawn from unnormalised non-negative weights. */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i] as number;
    if (!(total > 0)) throw new RangeError('Rng.categorical: weights must have a positive sum');
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] as number;
      if (u < 0) return i;
    }
    // Rounding can leave u at a hair above zero: the last non-zero weight takes it.
    for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A generator for `seed`, or for a named piece of work under it. */
export function createRng(seed: Seed, ...parts: Array<string | number>): Rng {
  return new Rng(parts.length === 0 ? seed : deriveSeed(seed, ...parts));
}
