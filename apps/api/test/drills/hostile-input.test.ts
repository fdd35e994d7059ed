/**
 * Drill "hostile input" (reliability and security drills, part 3): whatever a client sends,
 * the API answers 4xx in its error shape, never 5xx, never a crash. Property-based (fast-check,
 * fixed seeds, bounded runs) over POST /v1/experiments bodies and over every route's path
 * parameters and query strings, plus fixed cases: oversized, deeply nested, alias bombs, the
 * cell cap, dataset sources that point outside (path traversal, loopback and private hosts),
 * and malformed YAML.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { API_ERROR_CODES } from '../../src/errors.js';
import { DEMO_YAML, errorOf, type Harness, json, startHarness } from '../harness.js';

const SEED = 20240601;
const RUNS = 200;
const PLACEHOLDER = '__RDLAB_DRILL_VALUE__';

interface Problem {
  path: string;
  message: string;
}

/**
 * The invariant of every reply: no 5xx; a 4xx is `{"error": {"code", "message", "details"}}`
 * with a documented code; RDLAB_SPEC_INVALID names each problem's field. `rootMayBeWrong`:
 * the document itself may not be a mapping, so a problem at '' (the whole spec) is allowed.
 */
function checkReply(response: LightMyRequestResponse, what: string, rootMayBeWrong = false): void {
  assert.ok(response.statusCode < 500, `${what}: ${response.statusCode} ${response.body}`);
  if (response.statusCode < 400) return;
  assert.match(String(response.headers['content-type']), /^application\/json/, what);
  const error = errorOf(response);
  assert.ok((API_ERROR_CODES as readonly string[]).includes(error.code), `${what}: ${error.code}`);
  assert.equal(typeof error.message, 'string', what);
  assert.ok(error.message.length > 0, what);
  assert.equal(typeof error.details, 'object', what);
  assert.ok(error.details !== null && !Array.isArray(error.details), what);
  if (error.code === 'RDLAB_SPEC_INVALID') {
    const problems = (error.details.problems ?? []) as Problem[];
    assert.ok(problems.length > 0, `${what}: SPEC_INVALID without problems`);
    for (const p of problems) {
      if (rootMayBeWrong && p.path === '') continue;
      assert.match(p.path, /^(\/[^/]*)+$/, `${what}: problem without a JSON pointer: ${p.message}`);
    }
  }
}

/** Every path of a JSON value (as keys), objects and arrays included. */
function pathsOf(value: unknown, base: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [base];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push(...pathsOf(v, [...base, i]));
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...base, k]));
  }
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
  return copy;
}

const DEMO = parseYaml(DEMO_YAML) as Record<string, unknown>;
const DEMO_PATHS = pathsOf(DEMO);

/** Raw JSON text fragments: numbers JSON can write but JS cannot hold, and odd values. */
const rawJsonValue = fc.oneof(
  fc.constantFrom(
    '1e308',
    '-1e308',
    '1e309',
    '-1e309',
    '1e-400',
    '123456789012345678901234567890',
    '-0',
    '0.1e1',
    '"NaN"',
    '"Infinity"',
    '"\\u0000"',
    '"../../etc/passwd"',
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    `${'['.repeat(500)}${']'.repeat(500)}`,
  ),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
);
/** Raw YAML scalars: .nan, .inf, and friends. */
const rawYamlValue = fc.constantFrom(
  '.nan',
  '.NaN',
  '.inf',
  '-.inf',
  '1e308',
  '1e309',
  '0x7fffffffffffffff',
  '~',
  'null',
  '!!binary aGVsbG8=',
  '!!set {a, b}',
  '!!timestamp 2001-12-14',
  "'../../etc'",
  '&x [1, 2]',
);

const mutation = fc.record({
  path: fc.constantFrom(...DEMO_PATHS),
  extraKey: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
  dryRun: fc.boolean(),
});

describe('drill: hostile input', { timeout: 120_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ rateLimit: { max: 1_000_000, timeWindowMs: 60_000 } });
  });
  after(async () => {
    await h?.close();
  });

  const post = (payload: string, type: string, query = '') =>
    h.request({
      method: 'POST',
      url: `/v1/experiments${query}`,
      headers: { 'content-type': type },
      payload,
    });

  it('fuzz POST /v1/experiments: zero 5xx, every 4xx in the error shape', async () => {
    let cases = 0;
    let status4xx = 0;
    let status2xx = 0;
    const check = (response: LightMyRequestResponse, what: string, rootMayBeWrong: boolean) => {
      cases++;
      if (response.statusCode >= 400) status4xx++;
      else status2xx++;
      checkReply(response, what, rootMayBeWrong);
    };
    // 1. Arbitrary JSON documents.
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        const payload = JSON.stringify(value) ?? 'null';
        check(await post(payload, 'application/json', '?dryRun=true'), payload, true);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // 2. A valid spec with one value replaced (JSON), maybe an unknown key added.
    await fc.assert(
      fc.asyncProperty(mutation, rawJsonValue, async ({ path, extraKey, dryRun }, raw) => {
        let doc = setAt(DEMO, path, PLACEHOLDER) as Record<string, unknown>;
        if (extraKey !== undefined && typeof doc === 'object' && doc !== null)
          doc = { ...doc, [extraKey]: 1 };
        const payload = JSON.stringify(doc).replace(JSON.stringify(PLACEHOLDER), raw);
        const response = await post(payload, 'application/json', dryRun ? '?dryRun=true' : '');
        check(response, `${path.join('.')} = ${raw.slice(0, 80)}`, path.length === 0);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
    // 3. The same as YAML, with YAML-only values (.nan, .inf, tags, anchors).
    await fc.assert(
      fc.asyncProperty(mutation, rawYamlValue, async ({ path, dryRun }, raw) => {
        const doc = setAt(DEMO, path, PLACEHOLDER);
        const payload = stringifyYaml(doc).replace(PLACEHOLDER, raw);
        const response = await post(payload, 'application/yaml', dryRun ? '?dryRun=true' : '');
        check(response, `yaml ${path.join('.')} = ${raw}`, path.length === 0);
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
    // 4. Arbitrary text under each accepted content type, and under others.
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200, unit: 'binary' }),
        fc.constantFrom('application/json', 'application/yaml', 'text/plain', 'x/y; a=b'),
        async (text, type) => {
          check(await post(text, type, '?dryRun=true'), `${type}: ${JSON.stringify(text)}`, true);
        },
      ),
      { seed: SEED + 3, numRuns: RUNS },
    );
    console.log(
      `drill: fuzz POST /v1/experiments | ${cases} cases (${status2xx} 2xx, ${status4xx} 4xx), 0 5xx | pass`,
    );
  });

  it('fuzz path params and query strings of every route: zero 5xx', async () => {
    const docs = json<{ paths: Record<string, Record<string, unknown>> }>(
      await h.app.inject({ method: 'GET', url: '/docs/json' }),
    );
    const routes = Object.entries(docs.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => m === 'get' || m === 'post')
        // The event stream of a real experiment never ends; fuzzed ids never name one.
        .map((m) => ({ method: m.toUpperCase() as 'GET' | 'POST', path })),
    );
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 40, unit: 'grapheme' }),
      fc.constantFrom(
        '..',
        '../..',
        '../../etc/passwd',
        '..%2f..%2fetc%2fpasswd',
        '%2e%2e',
        '%00',
        '%',
        '%ZZ',
        '\u202e',
        '😀',
        'a'.repeat(129),
        'a'.repeat(5000),
        ' ',
        "' OR 1=1 --",
        `\${jndi:ldap://127.0.0.1/a}`,
      ),
    );
    const query = fc.array(fc.tuple(fc.string({ maxLength: 12 }), segment), { maxLength: 4 });
    let cases = 0;
    let skipped = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        segment,
        fc.boolean(),
        query,
        fc.boolean(),
        async (route, value, encode, pairs, rawQuery) => {
          const param = encode ? encodeURIComponent(value) : value;
          const path = route.path.replace(/\{[^}]+\}/g, param);
          const qs = pairs
            .map(([k, v]) =>
              rawQuery ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
            )
            .join('&');
          const url = qs ? `${path}?${qs}` : path;
          let response: LightMyRequestResponse;
          try {
            response = await h.request({ method: route.method, url });
          } catch {
            skipped++; // the client library refused to send this URL
            return;
          }
          cases++;
          checkReply(response, `${route.method} ${url.slice(0, 200)}`);
        },
      ),
      { seed: SEED + 4, numRuns: RUNS * 2 },
    );
    console.log(
      `drill: fuzz path params and queries | ${routes.length} routes, ${cases} cases (${skipped} unsendable), 0 5xx | pass`,
    );
  });

  it('refuses an oversized body with 413', async () => {
    const app = h.buildApp({ bodyLimitBytes: 64 * 1024 });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: { authorization: `Bearer ${h.team.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x', pad: 'a'.repeat(128 * 1024) }),
    });
    assert.equal(response.statusCode, 413);
    assert.equal(errorOf(response).code, 'RDLAB_BODY_TOO_LARGE');
    const big = await post(`name: ${'a'.repeat(1024 * 1024 + 10)}\n`, 'application/yaml');
    assert.equal(big.statusCode, 413);
    console.log('drill: oversized body | 128 KiB over a 64 KiB limit, 1 MiB YAML → 413 | pass');
  });

  it('answers deep nesting (depth 10,000) with 400, not a crash', async () => {
    const depth = 10_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const cases: [string, string, string][] = [
      ['json array', nested, 'application/json'],
      ['json object', objects, 'application/json'],
      [
        'json inside spec',
        JSON.stringify({ ...DEMO, extra: 0 }).replace('0}', `${nested}}`),
        'application/json',
      ],
      ['yaml flow', nested, 'application/yaml'],
      ['yaml inside spec', `${DEMO_YAML}\nextra: ${nested}\n`, 'application/yaml'],
      [
        'yaml block',
        Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
        'application/yaml',
      ],
    ];
    const started = performance.now();
    for (const [what, payload, type] of cases) {
      const response = await post(payload, type, '?dryRun=true');
      checkReply(response, what, true);
      assert.equal(response.statusCode, 400, `${what}: ${response.body.slice(0, 300)}`);
    }
    const ms = Math.round(performance.now() - started);
    console.log(
      `drill: deep nesting | ${cases.length} documents of depth ≤ 10,000 → 400 in ${ms} ms | pass`,
    );
  });

  it('answers a YAML alias bomb (billion laughs) with 400 in under 2 s', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `${levels.join('\n')}\n`;
    const asSpec = `${DEMO_YAML}\nextra:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    const started = performance.now();
    for (const payload of [bomb, asSpec]) {
      const response = await post(payload, 'application/yaml');
      checkReply(response, 'alias bomb', true);
      assert.equal(response.statusCode, 400, response.body.slice(0, 300));
      assert.equal(errorOf(response).code, 'RDLAB_BAD_REQUEST');
    }
    const ms = Math.round(performance.now() - started);
    assert.ok(ms < 2000, `${ms} ms`);
    console.log(`drill: YAML alias bomb | 9^9 lols → 400 in ${ms} ms | pass`);
  });

  it('refuses a sweep past the cell cap, naming /limits/maxCells', async () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1); // 6 × 200 = 1200 > 1000
    const response = await post(JSON.stringify({ ...DEMO, seeds }), 'application/json');
    checkReply(response, 'cell cap');
    assert.equal(response.statusCode, 400);
    const error = errorOf(response);
    assert.equal(error.code, 'RDLAB_SPEC_INVALID');
    const paths = (error.details.problems as Problem[]).map((p) => p.path);
    assert.ok(paths.includes('/limits/maxCells'), paths.join(', '));
    const lowered = await post(
      JSON.stringify({ ...DEMO, seeds: [1, 2], limits: { maxCells: 5 } }),
      'application/json',
    );
    assert.equal(lowered.statusCode, 400);
    console.log('drill: cell cap | 1200 cells over 1000, 12 over 5 → 400 /limits/maxCells | pass');
  });

  it('refuses dataset sources and checkpoints that escape (path traversal) or reach loopback and private hosts', async () => {
    const file = { name: 'files', format: 'yelp-polarity-csv', attributes: ['negative'] };
    const sources = [
      '../../etc',
      'data/../../etc/passwd',
      'file:///data/../../etc/passwd',
      '..\\..\\windows',
      'https://127.0.0.1/data.tsv',
      'https://127.1.2.3:8443/data.tsv',
      'https://localhost/data.tsv',
      'https://10.0.0.5/data.tsv',
      'https://172.16.3.4/data.tsv',
      'https://192.168.1.10/data.tsv',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]/data.tsv',
      'https://[fd00::1]/data.tsv',
      'https://[::ffff:127.0.0.1]/data.tsv',
      'https://0.0.0.0/data.tsv',
      'http://2130706433/data.tsv',
      'https://0x7f000001/data.tsv',
    ];
    for (const source of sources) {
      const spec = { ...DEMO, datasets: [DEMO.datasets as unknown[], { ...file, source }].flat() };
      const response = await post(JSON.stringify(spec), 'application/json', '?dryRun=true');
      checkReply(response, source);
      assert.equal(response.statusCode, 400, `${source} was accepted`);
      const error = errorOf(response);
      assert.equal(error.code, 'RDLAB_SPEC_INVALID', source);
      const paths = (error.details.problems as Problem[]).map((p) => p.path);
      assert.deepEqual(paths, ['/datasets/1/source'], source);
    }
    // Checkpoint references obey the same rule: the API reads their headers, the workers the rest.
    for (const source of sources) {
      const spec = { ...DEMO, behavior: { model: { checkpoint: source } } };
      const response = await post(JSON.stringify(spec), 'application/json', '?dryRun=true');
      checkReply(response, source);
      assert.equal(response.statusCode, 400, `checkpoint ${source} was accepted`);
      const paths = (errorOf(response).details.problems as Problem[]).map((p) => p.path);
      assert.deepEqual(paths, ['/behavior/model/checkpoint'], source);
    }
    // Public hosts, relative paths inside the tree and allow-listed hosts stay accepted.
    const fine = ['https://example.org/sst2/', 'data/sst2', '/srv/data/sst2', 's3://bucket/sst2'];
    for (const source of fine) {
      const spec = { ...DEMO, datasets: [{ ...file, source }] };
      const response = await post(JSON.stringify(spec), 'application/json', '?dryRun=true');
      assert.equal(response.statusCode, 200, `${source}: ${response.body.slice(0, 300)}`);
    }
    const before = process.env.RDLAB_ALLOWED_SOURCE_HOSTS;
    process.env.RDLAB_ALLOWED_SOURCE_HOSTS = 'minio.internal, 10.0.0.5';
    try {
      for (const source of ['https://10.0.0.5/data.tsv', 'https://minio.internal/x']) {
        const spec = { ...DEMO, datasets: [{ ...file, source }] };
        const response = await post(JSON.stringify(spec), 'application/json', '?dryRun=true');
        assert.equal(response.statusCode, 200, `${source}: ${response.body.slice(0, 300)}`);
      }
    } finally {
      if (before === undefined) delete process.env.RDLAB_ALLOWED_SOURCE_HOSTS;
      else process.env.RDLAB_ALLOWED_SOURCE_HOSTS = before;
    }
    console.log(
      `drill: dataset sources | ${sources.length} escaping or private sources → 400 /datasets/1/source, the same as checkpoints → 400 /behavior/model/checkpoint, ${fine.length} public + 2 allow-listed accepted | pass`,
    );
  });

  it('refuses NUL characters that Postgres would refuse (400, not 500)', async () => {
    const cases: [string, () => Promise<LightMyRequestResponse>][] = [
      ['spec name', () => post(JSON.stringify({ ...DEMO, name: 'a\u0000b' }), 'application/json')],
      [
        'spec description',
        () => post(JSON.stringify({ ...DEMO, description: '\u0000' }), 'application/json'),
      ],
      ['experiment id', () => h.request({ method: 'GET', url: '/v1/experiments/a%00b' })],
      ['cancel id', () => h.request({ method: 'POST', url: '/v1/experiments/%00/cancel' })],
      ['cell id', () => h.request({ method: 'GET', url: '/v1/cells/%00/metrics' })],
      ['cursor', () => h.request({ method: 'GET', url: '/v1/experiments?cursor=%00' })],
      [
        'idempotency key',
        () =>
          h.request({
            method: 'POST',
            url: '/v1/experiments',
            headers: { 'content-type': 'application/yaml', 'idempotency-key': 'k\u0000' },
            payload: DEMO_YAML,
          }),
      ],
    ];
    let refused = 0;
    for (const [what, send] of cases) {
      let response: LightMyRequestResponse;
      try {
        response = await send();
      } catch {
        continue; // the HTTP client itself refuses a NUL in a header
      }
      checkReply(response, what);
      assert.equal(response.statusCode, 400, `${what}: ${response.body.slice(0, 300)}`);
      refused++;
    }
    console.log(`drill: NUL characters | ${refused} of ${cases.length} sendable → 400 | pass`);
  });

  it('answers malformed YAML with exactly one error naming the line', async () => {
    const broken = DEMO_YAML.replace('  - kind: random\n', '  - kind: random\n   gamma: [0.8\n');
    const cases = [
      ['unclosed flow sequence', broken],
      ['bad indentation', 'name: x\ndatasets:\n  - name: a\n - name: b\n'],
      ['tab indentation', 'name: x\ndatasets:\n\t- name: a\n'],
      ['duplicate key', 'name: x\nname: y\n'],
      ['unclosed quote', 'name: "x\ndatasets: []\n'],
    ] as const;
    for (const [what, payload] of cases) {
      const response = await post(payload, 'application/yaml');
      checkReply(response, what, true);
      assert.equal(response.statusCode, 400, what);
      const error = errorOf(response);
      assert.equal(error.code, 'RDLAB_BAD_REQUEST', what);
      assert.match(error.message, /line \d+/, `${what}: ${error.message}`);
      const problems = (error.details.problems ?? []) as Problem[];
      assert.equal(problems.length, 1, `${what}: ${problems.map((p) => p.message).join(' | ')}`);
    }
    console.log(
      `drill: malformed YAML | ${cases.length} files → 1 error each, naming the line | pass`,
    );
  });
});
