/**
 * The addons check every array a JavaScript caller hands them (native/src/addon.cc,
 * cuda/src/addon.cc): element type and length, sized from the model and its own state (the last
 * forward's batch, a decoder's batch), never from the TypeScript wrapper's say-so. These cases
 * call a raw handle with one wrong argument each and expect an error naming that argument; the
 * native tests run them on the CPU, the device check's `fixture` stage on the GPU.
 */
import type { FlatGpt2Handle } from './flat-gpt2.js';

export interface AddonCheckCase {
  name: string;
  /** What the error must say (its argument's name, and expected vs found where a length is wrong). */
  expect: RegExp;
  /** 'TypeError' for a wrong element type, 'RangeError' for a wrong length or value. */
  type: 'TypeError' | 'RangeError' | 'Error';
  call: () => unknown;
}

export interface AddonCheckResult {
  name: string;
  pass: boolean;
  message: string;
}

/** The sampling call of each engine's handle (the native one reads p from the prefixes). */
type SampleCall = (
  prefixes: Int32Array,
  B: number,
  p: number,
  options: object,
  rngState: Uint32Array,
) => unknown;

/**
 * The cases for a handle over a model with vocabulary `V`, `P` positions, `tensors` tensors and
 * `numParams` parameters. `open(flat)` builds a fresh handle (the constructor's own check).
 */
export function addonCheckCases(
  engine: 'native' | 'cuda',
  handle: FlatGpt2Handle & { sample: (...args: never[]) => unknown },
  model: { V: number; P: number; tensors: number; numParams: number },
  open: (flat: Float32Array) => unknown,
): AddonCheckCase[] {
  const { V, P, tensors, numParams } = model;
  const ids = (n: number) => new Int32Array(n).fill(1);
  const sampleRaw = handle.sample.bind(handle) as unknown as (...args: unknown[]) => unknown;
  const sample: SampleCall = (prefixes, B, p, options, rngState) =>
    engine === 'cuda'
      ? sampleRaw(prefixes, B, p, options, rngState)
      : sampleRaw(prefixes, B, options, rngState);
  const sampling = { maxLength: 4, temperature: 1, topK: 0, repetitionPenalty: 1, eosId: 0 };
  const trainable = new Uint8Array(tensors).fill(1);
  return [
    {
      name: 'constructor: parameters one short',
      type: 'RangeError',
      expect: new RegExp(`parameters: expected ${numParams} \\w+, got ${numParams - 1}`),
      call: () => open(new Float32Array(numParams - 1)),
    },
    {
      name: 'logits: ids one short of B·T',
      type: 'RangeError',
      expect: /ids: expected 6 elements, got 5/,
      call: () => handle.logits(ids(5), 2, 3),
    },
    {
      name: 'logits: ids as a Float32Array',
      type: 'TypeError',
      expect: /ids: expected a(n)? Int32Array/,
      call: () => handle.logits(new Float32Array(6) as unknown as Int32Array, 2, 3),
    },
    {
      name: 'logits: negative B and T whose product matches',
      type: 'RangeError',
      expect: /B: expected an integer in \[1, /,
      call: () => handle.logits(ids(6), -2, -3),
    },
    {
      name: 'lastLogits: T past n_positions',
      type: 'RangeError',
      expect: new RegExp(`T: expected an integer in \\[1, ${P}\\], got ${P + 1}`),
      call: () => handle.lastLogits(ids(P + 1), 1, P + 1),
    },
    {
      name: 'logits: a token outside the vocabulary',
      type: 'RangeError',
      expect: new RegExp(`token id ${V} is outside the vocabulary of ${V}`),
      call: () => handle.logits(Int32Array.of(1, V), 1, 2),
    },
    {
      name: 'forward: mask one short',
      type: 'RangeError',
      expect: /mask: expected 6 elements, got 5/,
      call: () => handle.forward(ids(6), new Float32Array(5), 2, 3),
    },
    {
      name: 'backward: coefficients sized for another batch',
      type: 'RangeError',
      expect: /coefficients: expected 2 elements, got 3/,
      call: () => {
        handle.forward(ids(6), new Float32Array(6).fill(1), 2, 3);
        return handle.backward(new Float32Array(3), trainable);
      },
    },
    {
      name: 'backward: trainable one short',
      type: 'RangeError',
      expect: new RegExp(`trainable: expected ${tensors} elements, got ${tensors - 1}`),
      call: () => {
        handle.forward(ids(6), new Float32Array(6).fill(1), 2, 3);
        return handle.backward(new Float32Array(2), new Uint8Array(tensors - 1));
      },
    },
    {
      name: 'backward: after logits() overwrote the activations',
      type: 'Error',
      expect: /backward: no forward\(\) to differentiate/,
      call: () => {
        handle.forward(ids(6), new Float32Array(6).fill(1), 2, 3);
        handle.logits(ids(2), 1, 2);
        return handle.backward(new Float32Array(2), trainable);
      },
    },
    {
      name: 'adamStep: trainable one long',
      type: 'RangeError',
      expect: new RegExp(`trainable: expected ${tensors} elements, got ${tensors + 1}`),
      call: () => handle.adamStep(1e-3, 0.9, 0.999, 1e-8, 0, 1, new Uint8Array(tensors + 1)),
    },
    {
      name: 'setParams: one short',
      type: 'RangeError',
      expect: new RegExp(`parameters: expected ${numParams} elements, got ${numParams - 1}`),
      call: () => handle.setParams(new Float32Array(numParams - 1)),
    },
    {
      name: 'setAdam: v one long',
      type: 'RangeError',
      expect: new RegExp(`adam v: expected ${numParams} elements, got ${numParams + 1}`),
      call: () => handle.setAdam(new Float32Array(numParams), new Float32Array(numParams + 1)),
    },
    {
      name: "decoderNext: ids sized for another B than the decoder's",
      type: 'RangeError',
      expect: /ids: expected 4 elements, got 6|B: expected 2 \(the decoder's batch\), got 3/,
      call: () => {
        const d = handle.decoderNew(2);
        try {
          return handle.decoderNext(d, ids(6), 2, 3);
        } finally {
          handle.decoderFree(d);
        }
      },
    },
    {
      name: 'decoderNext: past n_positions',
      type: 'RangeError',
      expect: /n: /,
      call: () => {
        const d = handle.decoderNew(1);
        try {
          handle.decoderNext(d, ids(P - 1), P - 1, 1);
          return handle.decoderNext(d, ids(2), 2, 1);
        } finally {
          handle.decoderFree(d);
        }
      },
    },
    {
      name: 'sample: rngState of 3 words',
      type: 'RangeError',
      expect: /rngState: expected 4 elements, got 3/,
      call: () => sample(ids(4), 2, 2, sampling, new Uint32Array(3)),
    },
    {
      name: 'sample: rngState as an Int32Array',
      type: 'TypeError',
      expect: /rngState: expected a(n)? Uint32Array/,
      call: () => sample(ids(4), 2, 2, sampling, new Int32Array(4) as unknown as Uint32Array),
    },
    {
      name: 'sample: prefixes not [B, p]',
      type: 'RangeError',
      expect: /prefixes: expected /,
      call: () => sample(ids(5), 2, 2, sampling, new Uint32Array(4)),
    },
    {
      name: 'sample: maxLength past n_positions + 1',
      type: 'RangeError',
      expect: new RegExp(`maxLength ${P + 2} needs ${P + 1} positions, the model has ${P}`),
      call: () => sample(ids(2), 1, 2, { ...sampling, maxLength: P + 2 }, new Uint32Array(4)),
    },
    {
      name: 'sample: temperature missing',
      type: 'TypeError',
      expect: /sampling.temperature: expected a number/,
      call: () => sample(ids(2), 1, 2, { ...sampling, temperature: undefined }, new Uint32Array(4)),
    },
  ];
}

/** Runs each case: it passes when the call throws an error of its type whose message matches. */
export function runAddonChecks(cases: AddonCheckCase[]): AddonCheckResult[] {
  return cases.map((c) => {
    try {
      c.call();
      return { name: c.name, pass: false, message: 'did not throw' };
    } catch (error) {
      const e = error as Error;
      const message = `${e.name}: ${e.message}`;
      const typeOk = c.type === 'Error' ? e instanceof Error : e.name === c.type;
      return { name: c.name, pass: typeOk && c.expect.test(e.message), message };
    }
  });
}
