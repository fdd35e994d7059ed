/**
 * What a submitted spec may point at: dataset sources and checkpoint references. The API checks
 * checkpoints and the workers open both, so a spec must not make them read outside their data
 * tree (`..` segments) or fetch from loopback, private, link-local or unspecified addresses
 * (server-side request forgery: metadata endpoints, Redis, Postgres). Hosts listed in
 * `RDLAB_ALLOWED_SOURCE_HOSTS` (comma-separated, e.g. an in-cluster MinIO) are allowed anyway.
 */
import { isIP } from 'node:net';
import type { SpecProblem, SweepSpec } from '@rdlab/core';

/** Where a spec names something to read: each dataset source and checkpoint, with its path. */
function places(
  spec: Pick<SweepSpec, 'datasets'> &
    Partial<Pick<SweepSpec, 'behavior' | 'targets' | 'rewardModel'>>,
): Array<[path: string, value: string | undefined]> {
  return [
    ...spec.datasets.map((d, i): [string, string] => [`/datasets/${i}/source`, d.source]),
    ['/behavior/model/checkpoint', spec.behavior?.model.checkpoint],
    ['/behavior/tokenizer/checkpoint', spec.behavior?.tokenizer.checkpoint],
    ...(spec.targets ?? []).map((t, i): [string, string | undefined] => [
      `/targets/${i}/model/checkpoint`,
      t.model?.checkpoint,
    ]),
    ['/rewardModel/model/checkpoint', spec.rewardModel?.model.checkpoint],
  ];
}

/** Problems with the sources and checkpoints of a validated spec (empty when all are acceptable). */
export function sourceProblems(
  spec: Parameters<typeof places>[0],
  env: NodeJS.ProcessEnv = process.env,
): SpecProblem[] {
  const allowed = new Set(
    (env.RDLAB_ALLOWED_SOURCE_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const problems: SpecProblem[] = [];
  for (const [path, value] of places(spec)) {
    const message = value === undefined ? null : sourceProblem(value, allowed);
    if (message) problems.push({ path, value, message });
  }
  return problems;
}

function sourceProblem(source: string, allowed: ReadonlySet<string>): string | null {
  if (source.split(/[/\\]/).includes('..')) {
    return "must not contain '..' path segments: name the dataset's path inside the data tree";
  }
  if (!/^https?:\/\//i.test(source)) return null;
  let host: string;
  try {
    host = new URL(source).hostname.toLowerCase();
  } catch {
    return 'is not a valid URL';
  }
  if (allowed.has(host) || allowed.has(host.replace(/^\[|\]$/g, ''))) return null;
  if (isPrivateHost(host)) {
    return `must not point at a loopback, private or link-local host (${host}); allow it with RDLAB_ALLOWED_SOURCE_HOSTS`;
  }
  return null;
}

/** WHATWG URL has already normalised decimal, hex and short IPv4 forms to dotted quads. */
function isPrivateHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return isPrivateV4(bare);
  if (isIP(bare) === 6) {
    const v6 = bare.toLowerCase();
    const mapped = /^::ffff:(.+)$/.exec(v6)?.[1];
    if (mapped) {
      if (isIP(mapped) === 4) return isPrivateV4(mapped);
      // ::ffff:7f00:1 (the URL parser writes mapped addresses in hex)
      const [hi = '0', lo = '0'] = mapped.split(':');
      const n = (Number.parseInt(hi, 16) << 16) | Number.parseInt(lo, 16);
      return isPrivateV4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
    }
    return (
      v6 === '::' ||
      v6 === '::1' ||
      /^f[cd][0-9a-f]{2}:/.test(v6) || // unique local fc00::/7
      /^fe[89ab][0-9a-f]:/.test(v6) // link-local fe80::/10
    );
  }
  return false;
}

function isPrivateV4(ip: string): boolean {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 0 || // "this network", 0.0.0.0
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168)
  );
}

/**
 * A problem's value as a reply can carry it: a value too deep or too large to serialise (a
 * depth-10,000 array) becomes a short description instead of crashing JSON.stringify.
 */
export function boundedProblems(problems: readonly SpecProblem[]): SpecProblem[] {
  return problems.map((p) => ({ ...p, value: boundedValue(p.value) }));
}

const MAX_VALUE_CHARS = 1000;

function boundedValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  try {
    if (JSON.stringify(value).length <= MAX_VALUE_CHARS) return value;
  } catch {
    // RangeError: too deep to serialise.
  }
  return Array.isArray(value) ? `[a list of ${value.length}]` : '[a mapping]';
}

/** NUL characters in a spec's strings or keys: Postgres refuses them in JSON (a 500 otherwise). */
export function nulProblems(value: unknown, path = ''): SpecProblem[] {
  if (typeof value === 'string') {
    return value.includes('\u0000')
      ? [{ path, value, message: 'must not contain a NUL character (\\u0000)' }]
      : [];
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    return key.includes('\u0000')
      ? [{ path: at, value: key, message: 'must not contain a NUL character (\\u0000)' }]
      : nulProblems(v, at);
  });
}
