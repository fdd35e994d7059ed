import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelFileError } from '../errors.js';
import { readSafetensors } from '../safetensors.js';
import { sharedPath } from '../test-support.js';
import { float32ToBf16Bits, float32ToHalfBits } from './dtype.js';
import { openCheckpoint, readCheckpointTensors } from './reader.js';
import {
  f32Bytes,
  type TensorSpec,
  u16Bytes,
  writeShard,
  writeShardedCheckpoint,
} from './test-files.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rdlab-ckpt-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folder(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

const ramp = (scale: number) => (out: Uint8Array, first: number) => {
  const f = new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
  for (let i = 0; i < f.length; i++) f[i] = (first + i) * scale;
};

describe('openCheckpoint', () => {
  it('reads a sharded checkpoint of F32, F16 and BF16 tensors, as float32 or raw bits', async () => {
    const dir = await folder('small');
    const halves = [0, 1, -2, 0.5, 65504, 6.1e-5, 1e-7, -0.333];
    const halfFill = (conv: (v: number) => number) => (out: Uint8Array) => {
      const u = new Uint16Array(out.buffer, out.byteOffset, out.byteLength / 2);
      u.forEach((_, i) => {
        u[i] = conv(halves[i] as number);
      });
    };
    await writeShardedCheckpoint(dir, {
      'model-00001-of-00002.safetensors': [
        { name: 'a', dtype: 'F32', shape: [2, 3], fill: ramp(0.25) },
        { name: 'h', dtype: 'F16', shape: [8], fill: halfFill(float32ToHalfBits) },
      ],
      'model-00002-of-00002.safetensors': [
        { name: 'b', dtype: 'BF16', shape: [2, 4], fill: halfFill(float32ToBf16Bits) },
      ],
    });
    const reader = await openCheckpoint(dir);
    assert.deepEqual([...reader.tensors.keys()], ['a', 'h', 'b']);
    assert.equal(reader.files.length, 2);
    const seen = [];
    for await (const t of reader.entries()) seen.push(t);
    assert.deepEqual(Array.from(seen[0]?.data ?? []), [0, 0.25, 0.5, 0.75, 1, 1.25]);
    assert.deepEqual(seen[0]?.shape, [2, 3]);
    const h = Array.from(seen[1]?.data ?? []);
    assert.deepEqual(h.slice(0, 5), [0, 1, -2, 0.5, 65504]);
    assert.ok(
      Math.abs((h[5] as number) - 6.1e-5) < 1e-7 && Math.abs((h[7] as number) + 0.333) < 1e-3,
    );
    const b = Array.from(seen[2]?.data ?? []);
    assert.deepEqual(b.slice(0, 5), [0, 1, -2, 0.5, 65536]);
    const raw = await reader.read('h', { raw: true });
    assert.ok(raw.data instanceof Uint16Array);
    assert.equal(raw.data[1], 0x3c00);
    const only = [];
    for await (const t of reader.entries({ names: ['b'] })) only.push(t.name);
    assert.deepEqual(only, ['b']);
    await reader.close();
  });

  it('reads the fixtures as the whole-file decoder does', async () => {
    for (const name of ['tiny-gpt2', 'tiny-opt', 'tiny-xglm', 'tiny-bert']) {
      const dir = sharedPath('fixtures', name);
      if (!dir) {
        console.log(`# ../shared/fixtures/${name} is absent: skipped`);
        continue;
      }
      const expected = (await readSafetensors(join(dir, 'model.safetensors'))).tensors;
      const actual = await readCheckpointTensors(dir);
      assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
      for (const [key, t] of expected) assert.deepEqual(actual.get(key), t, `${name} ${key}`);
    }
  });

  it('errors name the folder, file or tensor', async () => {
    const none = await folder('none');
    await assert.rejects(openCheckpoint(none), (e: ModelFileError) => {
      assert.equal(e.code, 'RDLAB_CHECKPOINT_MISSING');
      assert.match(e.message, /has neither model\.safetensors nor model\.safetensors\.index\.json/);
      return true;
    });
    const ints = await folder('ints');
    await writeShard(join(ints, 'model.safetensors'), [
      { name: 'ok', dtype: 'F32', shape: [2], fill: ramp(1) },
      { name: 'position_ids', dtype: 'I64', shape: [4], fill: () => {} },
    ]);
    const reader = await openCheckpoint(ints);
    assert.deepEqual(Array.from((await reader.read('ok')).data), [0, 1]);
    await assert.rejects(
      reader.read('position_ids'),
      /RDLAB_CHECKPOINT_DTYPE: .*model\.safetensors: tensor 'position_ids': dtype I64/,
    );
    await reader.close();
    // data_offsets past the end of the file
    const cut = await folder('cut');
    const path = join(cut, 'model.safetensors');
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [1000], data_offsets: [0, 4000] } });
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    await writeFile(path, Buffer.concat([length, Buffer.from(json), Buffer.alloc(100)]));
    await assert.rejects(
      openCheckpoint(cut),
      /RDLAB_CHECKPOINT_MALFORMED: .*model\.safetensors: tensor 'w' has data_offsets \[0, 4000\] outside/,
    );
    // an index that names a tensor its shard lacks
    const lying = await folder('lying');
    await writeShard(join(lying, 'a.safetensors'), [
      { name: 'x', dtype: 'F32', shape: [1], fill: ramp(1) },
    ]);
    await writeFile(
      join(lying, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }),
    );
    await assert.rejects(openCheckpoint(lying), /a\.safetensors: tensor 'y'/);
  });
});

const MiB = 1024 * 1024;
const full = process.env.RDLAB_BIG_CHECKPOINT === '1';

describe('a 2.5 GiB sharded checkpoint', () => {
  it(`streams tensor by tensor with bounded memory (${full ? 'written in full' : 'sparse: set RDLAB_BIG_CHECKPOINT=1 to write every byte'})`, async () => {
    const dir = await folder('big');
    const rows = 32 * 1024; // 128 MiB of F32 per [rows, 1024] tensor
    const value = (t: number, i: number) => (i % 4096) * 0.5 + t;
    const f32 = (t: number): TensorSpec => {
      const n = rows * 1024;
      return {
        name: `layer.${t}.weight`,
        dtype: 'F32',
        shape: [rows, 1024],
        ...(full
          ? {
              fill: (out: Uint8Array, first: number) => {
                const f = new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
                for (let i = 0; i < f.length; i++) f[i] = value(t, first + i);
              },
            }
          : {
              points: [0, 12345, n >> 1, n - 1].map((i): [number, Uint8Array] => [
                i,
                f32Bytes(value(t, i)),
              ]),
            }),
      };
    };
    const half = (name: string, dtype: 'F16' | 'BF16', bits: number): TensorSpec => ({
      name,
      dtype,
      shape: [rows, 1024],
      points: [[rows * 1024 - 1, u16Bytes(bits)]],
    });
    const started = Date.now();
    const total = await writeShardedCheckpoint(dir, {
      // 2.25 GiB: tensors past the 2 GiB where readFile gives up
      'model-00001-of-00002.safetensors': Array.from({ length: 18 }, (_, t) => f32(t)),
      'model-00002-of-00002.safetensors': [
        f32(18),
        half('half.weight', 'F16', float32ToHalfBits(-1.5)),
        half('bf16.weight', 'BF16', float32ToBf16Bits(3.25)),
      ],
    });
    const written = Date.now() - started;
    assert.ok(total > 2.5 * 1024 * MiB);
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const reader = await openCheckpoint(dir);
    assert.equal(reader.tensors.size, 21);
    const readStart = Date.now();
    let count = 0;
    for await (const t of reader.entries()) {
      peak = Math.max(peak, process.memoryUsage().rss);
      const d = t.data;
      const n = d.length;
      if (t.name.startsWith('layer.')) {
        const k = Number(t.name.split('.')[1]);
        for (const i of [0, 12345, n >> 1, n - 1])
          assert.equal(d[i], value(k, i), `${t.name}[${i}]`);
        if (full) for (let i = 0; i < n; i += 99991) assert.equal(d[i], value(k, i));
      } else {
        assert.equal(d[0], 0);
        assert.equal(d[n - 1], t.dtype === 'F16' ? -1.5 : 3.25);
      }
      count += 1;
    }
    await reader.close();
    const read = Date.now() - readStart;
    const grew = (peak - rss0) / MiB;
    console.log(
      `# ${(total / 1024 / MiB).toFixed(2)} GiB in 2 shards (${full ? 'full' : 'sparse'}): written in ${written} ms, read in ${read} ms; peak RSS ${(peak / MiB).toFixed(0)} MiB, ${grew.toFixed(0)} MiB above the start (maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB)`,
    );
    assert.equal(count, 21);
    assert.ok(grew < 1024, `RSS grew by ${grew.toFixed(0)} MiB`);
    await rm(dir, { recursive: true, force: true });
  });
});
