/**
 * docker/Dockerfile and docker/compose.yaml, checked by parsing them (no Docker engine here):
 * targets, pinned bases, non-root users, health checks, that every path a COPY takes exists in
 * the repository and passes Dockerfile.dockerignore, that every script a RUN, CMD or HEALTHCHECK
 * runs exists; that compose refers only to services it defines, mounts only files that exist,
 * runs Redis with AOF and noeviction, and that Prometheus scrapes what compose runs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dockerDir = join(root, 'docker');
const TARGETS = ['api', 'scheduler', 'worker-cpu', 'worker-gpu'];

// ---------------------------------------------------------------------------------------------
// A small Dockerfile parser: instructions with continuations joined, stages, ARG defaults.

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { globalArgs: Map<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buffer === '' && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (buffer !== '' && line.trim().startsWith('#')) return; // comments inside continuations
    if (buffer === '') start = i + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(buffer);
    assert.ok(m, `line ${start}: cannot parse '${buffer}'`);
    instructions.push({ op: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim(), line: start });
    buffer = '';
  });
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `line ${ins.line}: FROM ${ins.args}`);
      stages.push({ base: m[1] ?? '', name: m[2] ?? `#${stages.length}`, instructions: [] });
    } else if (stages.length === 0) {
      assert.equal(ins.op, 'ARG', `line ${ins.line}: only ARG may come before the first FROM`);
      const [name, value = ''] = ins.args.split('=', 2) as [string, string?];
      globalArgs.set(name, value.replace(/^"|"$/g, ''));
    } else stages.at(-1)?.instructions.push(ins);
  }
  return { globalArgs, stages };
}

const dockerfile = parseDockerfile(readFileSync(join(dockerDir, 'Dockerfile'), 'utf8'));
const stageByName = new Map(dockerfile.stages.map((s) => [s.name, s]));
const resolveArgs = (s: string) =>
  s.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_, a, b) => dockerfile.globalArgs.get(a ?? b) ?? `\${${a ?? b}}`,
  );

/** A stage and the stages it is built FROM, nearest first. */
function lineage(name: string): Stage[] {
  const out: Stage[] = [];
  for (let s = stageByName.get(name); s; s = stageByName.get(s.base)) out.push(s);
  return out;
}
function lastOf(name: string, op: string): Instruction | undefined {
  for (const stage of lineage(name)) {
    const found = stage.instructions.filter((i) => i.op === op).at(-1);
    if (found) return found;
  }
  return undefined;
}
/** The JSON array of an exec-form instruction. */
function execForm(args: string): string[] {
  const json = args.replace(/^CMD\s+/, '');
  const parsed = JSON.parse(json) as unknown;
  assert.ok(Array.isArray(parsed), `not exec form: ${args}`);
  return parsed as string[];
}

/** COPY sources and flags. */
function copyOf(ins: Instruction): { from: string | null; sources: string[]; dest: string } {
  const words = ins.args.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() ?? '';
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop() ?? '';
  return { from, sources: words, dest };
}

// ---------------------------------------------------------------------------------------------
// .dockerignore semantics as moby's patternmatcher applies them: Go filepath.Match per segment,
// `**` for any depth, a rule matches a path when it matches the path or one of its parent
// directories, `!` re-includes, and the last matching rule wins.

const ignoreFile = join(dockerDir, 'Dockerfile.dockerignore');
const ignoreRules = readFileSync(ignoreFile, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const negate = l.startsWith('!');
    const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
    const regex = pattern
      .split('/')
      .map((seg) =>
        seg === '**'
          ? '.*'
          : seg
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/')
      .replace(/\.\*\//g, '(?:.*/)?');
    return { negate, regex: new RegExp(`^${regex}$`) };
  });
function ignored(path: string): boolean {
  const parts = path.replace(/\/+$/, '').split('/');
  const prefixes = parts.map((_, n) => parts.slice(0, n + 1).join('/'));
  let excluded = false;
  for (const rule of ignoreRules)
    if (prefixes.some((p) => rule.regex.test(p))) excluded = !rule.negate;
  return excluded;
}

describe('docker/Dockerfile', () => {
  test('has the targets api, scheduler, worker-cpu and worker-gpu', () => {
    for (const target of TARGETS) assert.ok(stageByName.has(target), target);
  });

  test('pins every base image by an exact tag (no latest) or a digest', () => {
    for (const stage of dockerfile.stages) {
      if (stageByName.has(stage.base) && stage.base !== stage.name) continue;
      const image = resolveArgs(stage.base);
      assert.ok(!image.includes('${'), `${stage.name}: ${stage.base} has no default`);
      const digest = /@sha256:[0-9a-f]{64}$/.test(image);
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      assert.ok(digest || tag, `${stage.name}: ${image} has no tag`);
      if (!digest) {
        assert.notEqual(tag, 'latest', `${stage.name}: ${image}`);
        assert.match(tag ?? '', /\d+\.\d+\.\d+/, `${stage.name}: ${image} is not an exact version`);
      }
    }
    assert.match(resolveArgs('$NODE_IMAGE'), /^node:20\.\d+\.\d+-/);
    assert.match(resolveArgs('$CUDA_IMAGE'), /^nvidia\/cuda:13\.0\.\d+-runtime-ubuntu24\.04$/);
    assert.equal(
      resolveArgs(stageByName.get('worker-gpu')?.base ?? ''),
      resolveArgs('$CUDA_IMAGE'),
    );
  });

  test('every path a COPY takes from the context exists and passes Dockerfile.dockerignore', () => {
    let copies = 0;
    for (const stage of dockerfile.stages) {
      for (const ins of stage.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
        assert.equal(ins.op, 'COPY', `line ${ins.line}: use COPY, not ADD`);
        const { from, sources } = copyOf(ins);
        if (from !== null) {
          const fromStage = stageByName.get(from);
          assert.ok(fromStage, `line ${ins.line}: --from=${from} is not a stage`);
          continue;
        }
        for (const source of sources) {
          copies++;
          assert.ok(!/[*?[]/.test(source), `line ${ins.line}: ${source}: name files, no globs`);
          assert.ok(existsSync(join(root, source)), `line ${ins.line}: ${source} does not exist`);
          assert.ok(
            !ignored(source),
            `line ${ins.line}: ${source} is excluded by the dockerignore`,
          );
        }
      }
    }
    assert.ok(copies > 15);
  });

  test('Dockerfile.dockerignore keeps build outputs, node_modules and tests out', () => {
    for (const path of [
      'node_modules',
      'node_modules/tsx/package.json',
      'packages/db/node_modules',
      'packages/db/src/generated',
      'packages/ml/native/build',
      'packages/ml/cuda/build',
      'apps/api/test',
      'apps/web/test-artifacts',
      'packages/core/src/index.test.ts',
      'docker/test/docker.test.ts',
      'helm/rdlab/values.yaml',
      '.git',
      'runs',
      '.rdlab',
    ])
      assert.ok(ignored(path), `${path} goes into the context`);
    for (const path of [
      'package-lock.json',
      'apps/api/src/main.ts',
      'packages/ml/native/src',
      'prisma/migrations',
      'docker/worker.ts',
      'docker/healthcheck.mjs',
    ])
      assert.ok(!ignored(path), `${path} is left out of the context`);
  });

  test('every workspace package.json is copied before npm ci', () => {
    const deps = stageByName.get('deps');
    assert.ok(deps);
    const ciAt = deps.instructions.findIndex((i) => i.op === 'RUN' && /npm ci\b/.test(i.args));
    assert.ok(ciAt >= 0, 'deps runs npm ci');
    const copied = new Set(
      deps.instructions
        .slice(0, ciAt)
        .filter((i) => i.op === 'COPY')
        .flatMap((i) => copyOf(i).sources),
    );
    const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    const folders = Object.keys(lock.packages).filter(
      (p) => p !== '' && !p.includes('node_modules') && existsSync(join(root, p, 'package.json')),
    );
    assert.deepEqual(workspaces, ['packages/*', 'apps/*']);
    for (const folder of folders)
      assert.ok(copied.has(`${folder}/package.json`), `${folder}/package.json`);
    for (const file of ['package.json', 'package-lock.json']) assert.ok(copied.has(file), file);
  });

  test('every script a RUN runs exists', () => {
    for (const stage of dockerfile.stages) {
      for (const ins of stage.instructions.filter((i) => i.op === 'RUN')) {
        for (const m of ins.args.matchAll(/\bnode\s+((?:[\w.-]+\/)+[\w.-]+\.m?[jt]s)\b/g))
          assert.ok(existsSync(join(root, m[1] ?? '')), `line ${ins.line}: ${m[1]}`);
        for (const m of ins.args.matchAll(/npm run (\S+) -w (\S+)/g)) {
          const folder = ['packages', 'apps']
            .flatMap((d) => [`${d}/${(m[2] ?? '').replace('@rdlab/', '')}`])
            .find((f) => existsSync(join(root, f, 'package.json')));
          assert.ok(folder, `line ${ins.line}: workspace ${m[2]}`);
          const scripts = JSON.parse(
            readFileSync(join(root, folder, 'package.json'), 'utf8'),
          ).scripts;
          assert.ok(scripts[m[1] ?? ''], `line ${ins.line}: ${m[2]} has no script ${m[1]}`);
        }
        for (const m of ins.args.matchAll(/npm rebuild (\S+)/g)) {
          const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
          assert.ok(
            lock.packages[`node_modules/${m[1]}`],
            `line ${ins.line}: ${m[1]} is not locked`,
          );
        }
      }
    }
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    assert.equal(lock.packages['node_modules/@tensorflow/tfjs-node-gpu']?.version, '4.22.0');
  });

  for (const target of TARGETS) {
    test(`${target}: non-root USER, HEALTHCHECK, labels, and a CMD whose files are in the image`, () => {
      const stage = stageByName.get(target)!;
      const user = stage.instructions.filter((i) => i.op === 'USER').at(-1);
      assert.ok(user, `${target} sets its own USER`);
      assert.ok(!/^(root|0)(:|$)/.test(user.args), `${target} runs as ${user.args}`);
      const health = lastOf(target, 'HEALTHCHECK');
      assert.ok(health && !/^NONE/i.test(health.args), `${target} has a HEALTHCHECK`);
      const check = execForm(health.args.replace(/^(--\S+\s+)*CMD\s+/, ''));
      assert.ok(existsSync(join(root, check[1] ?? '')), `${target}: ${check[1]}`);
      assert.ok(['api', 'probes'].includes(check[2] ?? ''), `${target}: ${check.join(' ')}`);
      const labels = stage.instructions
        .filter((i) => i.op === 'LABEL')
        .map((i) => i.args)
        .join(' ');
      for (const key of ['title', 'source', 'version', 'revision'])
        assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), key);
      const cmd = execForm(lastOf(target, 'CMD')!.args);
      assert.deepEqual(cmd.slice(0, 4), ['node', '--conditions=source', '--import', 'tsx']);
      const entry = cmd[4] ?? '';
      assert.ok(existsSync(join(root, entry)), `${target}: ${entry}`);
      // The entry and the local modules it imports are copied into the image.
      const copied = dockerfile.stages
        .flatMap((s) => s.instructions)
        .filter((i) => i.op === 'COPY' && copyOf(i).from === null)
        .flatMap((i) => copyOf(i).sources);
      const inImage = (path: string) =>
        copied.some((c) => path === c || path.startsWith(c.endsWith('/') ? c : `${c}/`));
      const pending = [entry];
      const seen = new Set<string>();
      while (pending.length > 0) {
        const file = pending.pop() ?? '';
        if (seen.has(file)) continue;
        seen.add(file);
        assert.ok(existsSync(join(root, file)), `${target}: ${file} does not exist`);
        assert.ok(inImage(file), `${target}: ${file} is not copied into the image`);
        if (!/\.[mc]?[jt]s$/.test(file)) continue;
        for (const m of readFileSync(join(root, file), 'utf8').matchAll(/from '(\.[^']+)'/g)) {
          const path = join(dirname(join(root, file)), m[1] ?? '');
          const ts = path.replace(/\.js$/, '.ts');
          pending.push(relative(root, existsSync(ts) ? ts : path));
        }
      }
      assert.ok(seen.size >= 2, `${target}: ${[...seen].join(', ')}`);
      const entrypoint = lastOf(target, 'ENTRYPOINT');
      assert.deepEqual(execForm(entrypoint!.args), ['/usr/bin/tini', '--']);
    });
  }

  test('the worker images carry the native engine; the GPU one tfjs-node-gpu, its backend on auto', () => {
    for (const target of ['worker-cpu', 'worker-gpu']) {
      const copies = stageByName
        .get(target)!
        .instructions.filter((i) => i.op === 'COPY')
        .map(copyOf);
      assert.ok(
        copies.some((c) => c.from === 'native' && c.sources[0]?.endsWith('rdlab_native.node')),
        target,
      );
      const env = lineage(target)
        .flatMap((s) => s.instructions)
        .filter((i) => i.op === 'ENV')
        .map((i) => i.args)
        .join(' ');
      assert.doesNotMatch(env, /RDLAB_BACKEND/, `${target}: RDLAB_BACKEND is left to auto`);
      assert.match(env, /RDLAB_SHUTDOWN_GRACE_MS=\d+/);
    }
    const gpu = stageByName.get('worker-gpu')!.instructions.filter((i) => i.op === 'COPY');
    assert.ok(gpu.some((i) => copyOf(i).from === 'tfjs-gpu'));
    const native = stageByName
      .get('native')!
      .instructions.map((i) => i.args)
      .join(' ');
    assert.match(native, /libopenblas-dev/);
    assert.match(native, /build\.mjs --strict/);
    const cpuRuntime = stageByName
      .get('worker-cpu')!
      .instructions.map((i) => i.args)
      .join(' ');
    assert.match(cpuRuntime, /libopenblas0/);
    // Installed with --ignore-scripts, tfjs-node packages lack their addon and half-load noisily.
    const prod = stageByName
      .get('prod-deps')!
      .instructions.map((i) => i.args)
      .join(' ');
    assert.match(prod, /npm prune --omit=dev/);
    assert.match(
      prod,
      /rm -rf node_modules\/@tensorflow\/tfjs-node node_modules\/@tensorflow\/tfjs-node-gpu/,
    );
    assert.equal(stageByName.get('app')?.base, 'prod-deps');
  });
});

// ---------------------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: compose is plain YAML
type Service = Record<string, any>;
const compose = parse(readFileSync(join(dockerDir, 'compose.yaml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const envOf = (s: Service): Record<string, string> => s.environment ?? {};

describe('docker/compose.yaml', () => {
  test('runs the whole stack', () => {
    for (const name of [
      'postgres',
      'redis',
      'minio',
      'minio-init',
      'migrate',
      'api',
      'scheduler',
      'worker-cpu',
      'worker-gpu',
      'prometheus',
      'grafana',
    ])
      assert.ok(services[name], name);
  });

  test('refers only to services and volumes it defines', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const dep of deps) assert.ok(services[dep], `${name} depends on ${dep}`);
      for (const volume of s.volumes ?? []) {
        const source = String(volume).split(':')[0] ?? '';
        if (!source.startsWith('.') && !source.startsWith('/'))
          assert.ok(source in (compose.volumes ?? {}), `${name}: volume ${source}`);
      }
    }
  });

  test('every mounted local file exists', () => {
    let mounts = 0;
    for (const [name, s] of Object.entries(services)) {
      for (const volume of s.volumes ?? []) {
        const source = String(volume).split(':')[0] ?? '';
        if (!source.startsWith('.')) continue;
        mounts++;
        assert.ok(existsSync(join(dockerDir, source)), `${name}: ${source} does not exist`);
      }
    }
    assert.ok(mounts >= 4);
  });

  test('images are pinned; builds use docker/Dockerfile and its targets', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        assert.equal(s.build.context, '..', name);
        assert.ok(existsSync(join(dockerDir, s.build.context, s.build.dockerfile)), name);
        assert.ok(stageByName.has(s.build.target), `${name}: target ${s.build.target}`);
        continue;
      }
      const image = String(s.image);
      assert.doesNotMatch(image, /:latest$|^[^:]+$/, `${name}: ${image}`);
      assert.match(image, /:(v?\d+\.\d+(\.\d+)?|RELEASE\.[\dT-]+Z)/, `${name}: ${image}`);
    }
  });

  test('redis keeps its data (AOF) and never evicts (noeviction)', () => {
    const command = services.redis!.command as string[];
    const flag = (name: string) => command[command.indexOf(name) + 1];
    assert.equal(flag('--appendonly'), 'yes');
    assert.equal(flag('--maxmemory-policy'), 'noeviction');
    assert.ok(services.redis!.volumes.some((v: string) => v.endsWith(':/data')));
  });

  test('the migrate one-shot runs before the API, the scheduler and the workers', () => {
    const migrate = services.migrate!;
    assert.ok(migrate.command.includes('docker/migrate.ts'));
    assert.ok(existsSync(join(root, 'docker/migrate.ts')));
    for (const name of ['api', 'scheduler', 'worker-cpu', 'worker-gpu']) {
      assert.equal(
        services[name]!.depends_on.migrate?.condition,
        'service_completed_successfully',
        name,
      );
      assert.equal(
        services[name]!.depends_on['minio-init']?.condition,
        'service_completed_successfully',
      );
      for (const key of ['REDIS_URL', 'DATABASE_URL', 'RDLAB_STORE', 'RDLAB_S3_ENDPOINT'])
        assert.ok(envOf(services[name]!)[key], `${name}: ${key}`);
    }
    assert.equal(envOf(services.api!).RDLAB_API_HOST, '0.0.0.0');
  });

  test('the GPU worker reserves a GPU; workers stop slower than their shutdown grace', () => {
    const devices = services['worker-gpu']!.deploy.resources.reservations.devices;
    assert.equal(devices[0].driver, 'nvidia');
    assert.ok(devices[0].capabilities.includes('gpu'));
    for (const name of ['worker-cpu', 'worker-gpu']) {
      const grace = Number(envOf(services[name]!).RDLAB_SHUTDOWN_GRACE_MS);
      const stop = Number(/^(\d+)s$/.exec(services[name]!.stop_grace_period)?.[1]);
      assert.ok(stop * 1000 > grace, `${name}: stop_grace_period ${stop}s ≤ ${grace} ms`);
    }
  });

  test('Prometheus scrapes the API, the scheduler and both worker services on their ports', () => {
    const prom = parse(readFileSync(join(dockerDir, 'prometheus/prometheus.yml'), 'utf8'));
    const targets: Array<{ host: string; port: number; component: string }> = [];
    for (const job of prom.scrape_configs) {
      const component = (job.relabel_configs ?? []).find(
        (r: Service) => r.target_label === 'component',
      )?.replacement;
      for (const sc of job.static_configs ?? [])
        for (const t of sc.targets) {
          const [host = '', port = ''] = String(t).split(':');
          targets.push({ host, port: Number(port), component: sc.labels?.component });
        }
      for (const dns of job.dns_sd_configs ?? [])
        for (const host of dns.names) targets.push({ host, port: dns.port, component });
    }
    const scraped = targets.filter((t) => services[t.host]);
    assert.deepEqual(scraped.map((t) => t.host).sort(), [
      'api',
      'minio',
      'scheduler',
      'worker-cpu',
      'worker-gpu',
    ]);
    assert.equal(envOf(services.minio!).MINIO_PROMETHEUS_AUTH_TYPE, 'public');
    for (const t of scraped.filter((s) => s.host !== 'minio')) {
      const env = envOf(services[t.host]!);
      assert.equal(t.port, Number(env.RDLAB_API_PORT ?? env.RDLAB_METRICS_PORT), t.host);
      assert.ok(t.component, `${t.host} has a component label`);
    }
  });

  test("Grafana provisions the chart's dashboards (one copy) and both datasources", () => {
    const grafana = services.grafana!;
    const mount = (grafana.volumes as string[]).find((v) => v.includes('dashboards:'));
    assert.ok(mount);
    const [source = '', target = ''] = mount.split(':');
    assert.equal(join(dockerDir, source), join(root, 'helm/rdlab/dashboards'));
    assert.ok(statSync(join(dockerDir, source)).isDirectory());
    const provider = parse(
      readFileSync(join(dockerDir, 'grafana/provisioning/dashboards/rdlab.yaml'), 'utf8'),
    );
    assert.equal(provider.providers[0].options.path, target);
    const home = envOf(grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    assert.ok(home.startsWith(`${target}/`));
    assert.ok(existsSync(join(root, 'helm/rdlab/dashboards', home.slice(target.length + 1))));
    const datasources = parse(
      readFileSync(join(dockerDir, 'grafana/provisioning/datasources/rdlab.yaml'), 'utf8'),
    ).datasources as Service[];
    const byUid = new Map(datasources.map((d) => [d.uid, d]));
    assert.equal(byUid.get('rdlab-prometheus')?.type, 'prometheus');
    assert.equal(byUid.get('rdlab-postgres')?.type, 'grafana-postgresql-datasource');
    assert.equal(byUid.get('rdlab-postgres')?.user, 'grafana');
    assert.ok(envOf(grafana).GRAFANA_DB_PASSWORD);
    assert.equal(envOf(services.postgres!).GRAFANA_DB_PASSWORD, envOf(grafana).GRAFANA_DB_PASSWORD);
    // The dashboards' datasource variables default to these uids.
    for (const file of ['rdlab-experiment.json', 'rdlab-fleet.json']) {
      const dashboard = JSON.parse(readFileSync(join(root, 'helm/rdlab/dashboards', file), 'utf8'));
      for (const v of dashboard.templating.list.filter((x: Service) => x.type === 'datasource'))
        assert.ok(byUid.has(v.current.value), `${file}: $${v.name} → ${v.current.value}`);
    }
  });
});
