/**
 * The rdlab chart, offline: `helm lint` and `helm template` (helm 4.1.4 from npm, see
 * helm-binary.ts), values.schema.json, the termination-grace rule, every rendered object against
 * the Kubernetes, KEDA and Prometheus Operator schemas (kubernetes-models), and the facts the
 * deployment relies on (GPU requests and placement, the migration hook, existingSecret, KEDA,
 * the dashboards' ConfigMaps).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { helmBinary, helmUnavailable } from './helm-binary.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chart = join(root, 'helm/rdlab');
const gpuValues = join(chart, 'values-gpu.yaml');
const TOKEN = `rdl_${'A'.repeat(43)}`;

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are plain YAML
type K8sObject = Record<string, any>;

/**
 * kubernetes-models class per apiVersion/kind: a kind not listed here fails the test. They are
 * constructed from parsed YAML, hence `never` for the data.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/** Every optional part switched on. */
const EVERYTHING = [
  '--set',
  'api.ingress.enabled=true',
  '--set',
  'api.ingress.tls.enabled=true',
  '--set',
  'api.ingress.className=nginx',
  '--set',
  'workers.cpu.autoscaling.enabled=true',
  '--set',
  'grafanaDatasource.enabled=true',
  '--set',
  'grafanaDatasource.host=postgres.db',
  '--set',
  'grafanaDatasource.password=secret',
  '--set',
  'image.registry=registry.internal:5000',
  '--set',
  `tokens.autoscaler=${TOKEN}`,
];

const skip = helmUnavailable();
let helm = '';

let helmHome = '';

function run(args: string[]): { status: number; out: string } {
  // Helm's own config, cache and data folders in a temporary one: no kubeconfig, no repositories.
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: helmHome,
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    KUBECONFIG: join(helmHome, 'no-kubeconfig'),
  };
  const r = spawnSync(helm, args, { encoding: 'utf8', cwd: root, env });
  return { status: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

/** `helm template` → objects; throws with helm's message when rendering fails. */
function render(args: string[] = []): K8sObject[] {
  const r = run(['template', 'lab', chart, '--namespace', 'rdlab', ...args]);
  if (r.status !== 0) throw new Error(r.out);
  return parseAllDocuments(r.out)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const of = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found;
};
const containers = (o: K8sObject): K8sObject[] => o.spec.template.spec.containers;
const envOf = (c: K8sObject, name: string) => (c.env as K8sObject[]).find((e) => e.name === name);

/** Every secretKeyRef / secretTargetRef in an object, with where it is. */
function secretRefs(o: K8sObject): Array<{ name: string; key: string; optional: boolean }> {
  const refs: Array<{ name: string; key: string; optional: boolean }> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const rec = v as K8sObject;
      if (rec.secretKeyRef)
        refs.push({
          name: rec.secretKeyRef.name,
          key: rec.secretKeyRef.key,
          optional: rec.secretKeyRef.optional === true,
        });
      if (o.kind === 'TriggerAuthentication' && Array.isArray(rec.secretTargetRef))
        for (const t of rec.secretTargetRef)
          refs.push({ name: t.name, key: t.key, optional: false });
      Object.values(rec).forEach(walk);
    }
  };
  walk(o);
  return refs;
}

describe('helm/rdlab', { skip: skip ?? false }, () => {
  before(async () => {
    helm = await helmBinary();
    helmHome = await mkdtemp(join(tmpdir(), 'rdlab-helm-'));
  });

  after(async () => {
    if (helmHome) await rm(helmHome, { recursive: true, force: true });
  });

  describe('lint and template', () => {
    test('helm lint --strict passes with the default values and with values-gpu.yaml', () => {
      for (const args of [[], ['-f', gpuValues]]) {
        const r = run(['lint', '--strict', chart, ...args]);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      }
    });

    test('helm template renders the default values and values-gpu.yaml', () => {
      const defaults = render();
      assert.ok(named(defaults, 'Deployment', 'lab-rdlab-api'));
      assert.ok(named(defaults, 'Deployment', 'lab-rdlab-worker-cpu'));
      assert.equal(of(defaults, 'ScaledObject').length, 0);
      const gpu = render(['-f', gpuValues]);
      assert.ok(named(gpu, 'Deployment', 'lab-rdlab-worker-gpu'));
      assert.ok(named(gpu, 'ScaledObject', 'lab-rdlab-worker-gpu'));
      assert.ok(named(gpu, 'ServiceMonitor', 'lab-rdlab'));
    });

    test('NOTES.txt says how to reach the API and get a token', () => {
      const r = run(['install', 'lab', chart, '-n', 'rdlab', '--dry-run=client']);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /port-forward svc\/lab-rdlab-api 8080:8080/);
      assert.match(r.out, /exec deploy\/lab-rdlab-api -- rdlab token create --team/);
      assert.match(r.out, /WARNING: postgres.url and redis.url/);
    });
  });

  describe('values.schema.json', () => {
    const rejected: Array<[string, string[], RegExp]> = [
      ['api.replicas as a string', ['--set-string', 'api.replicas=two'], /\/api\/replicas/],
      [
        'api.replicas: "2" (a string, not a number)',
        ['--set-string', 'api.replicas=2'],
        /\/api\/replicas/,
      ],
      ['an unknown top-level value', ['--set', 'replicas=3'], /additional properties 'replicas'/],
      ['an unknown nested value', ['--set', 'workers.gpu.gpu=1'], /additional properties 'gpu'/],
      ['workers.gpu.gpus: "one"', ['--set-string', 'workers.gpu.gpus=one'], /\/workers\/gpu\/gpus/],
      [
        'workers.cpu.enabled: "yes"',
        ['--set-string', 'workers.cpu.enabled=yes'],
        /\/workers\/cpu\/enabled/,
      ],
      ['a malformed autoscaler token', ['--set', 'tokens.autoscaler=abc'], /\/tokens\/autoscaler/],
      ['a MySQL URL', ['--set', 'postgres.url=mysql://x'], /\/postgres\/url/],
      ['a store that is not s3://', ['--set', 'store.location=/data'], /\/store\/location/],
      ['an unknown backend', ['--set', 'workers.cpu.backend=cuda'], /\/workers\/cpu\/backend/],
      ['a log level pino does not have', ['--set', 'logLevel=loud'], /\/logLevel/],
      [
        'nodeSelector values that are not strings',
        ['--set', 'workers.gpu.nodeSelector.gpu=true'],
        /nodeSelector/,
      ],
    ];
    for (const [what, args, message] of rejected) {
      test(`rejects ${what}`, () => {
        for (const command of ['template', 'lint']) {
          const r =
            command === 'template'
              ? run(['template', 'lab', chart, ...args])
              : run(['lint', chart, ...args]);
          assert.notEqual(r.status, 0, `${command} accepted it:\n${r.out.slice(0, 500)}`);
          assert.match(r.out, message);
        }
      });
    }

    test('describes every value of values.yaml and values-gpu.yaml', async () => {
      const schema = JSON.parse(await readFile(join(chart, 'values.schema.json'), 'utf8'));
      const missing: string[] = [];
      const walk = (value: unknown, node: K8sObject | undefined, path: string) => {
        if (!node) {
          missing.push(path);
          return;
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
        if (!node.properties) return; // a free-form object (resources, affinity, …)
        assert.equal(node.additionalProperties, false, `${path || '.'}: additionalProperties`);
        for (const [key, child] of Object.entries(value))
          walk(child, node.properties[key], path ? `${path}.${key}` : key);
      };
      walk(parse(await readFile(join(chart, 'values.yaml'), 'utf8')), schema, '');
      walk(parse(await readFile(gpuValues, 'utf8')), schema, '');
      assert.deepEqual(missing, []);
    });
  });

  describe('the termination grace rule', () => {
    test('fails rendering when terminationGracePeriodSeconds ≤ shutdownGraceMs / 1000', () => {
      for (const [grace, seconds] of [
        [120000, 60],
        [120000, 120],
      ] as const) {
        const r = run([
          'template',
          'lab',
          chart,
          '--set',
          'workers.gpu.enabled=true',
          '--set',
          `workers.gpu.shutdownGraceMs=${grace}`,
          '--set',
          `workers.gpu.terminationGracePeriodSeconds=${seconds}`,
        ]);
        assert.notEqual(r.status, 0, `tgps ${seconds} s with a ${grace} ms grace rendered`);
        assert.match(
          r.out,
          /workers\.gpu\.terminationGracePeriodSeconds \(\d+\) must be longer than workers\.gpu\.shutdownGraceMs/,
        );
      }
      const cpu = run([
        'template',
        'lab',
        chart,
        '--set',
        'workers.cpu.terminationGracePeriodSeconds=30',
      ]);
      assert.notEqual(cpu.status, 0);
      assert.match(cpu.out, /workers\.cpu\.terminationGracePeriodSeconds/);
    });

    test('renders when it is longer, and every worker pod waits longer than its grace', () => {
      const objects = render([
        '--set',
        'workers.gpu.enabled=true',
        '--set',
        'workers.gpu.shutdownGraceMs=120000',
        '--set',
        'workers.gpu.terminationGracePeriodSeconds=121',
      ]);
      for (const d of of(objects, 'Deployment').filter((o) => o.metadata.name.includes('worker'))) {
        const grace = Number(envOf(containers(d)[0]!, 'RDLAB_SHUTDOWN_GRACE_MS')?.value);
        assert.ok(d.spec.template.spec.terminationGracePeriodSeconds * 1000 > grace);
      }
    });
  });

  describe('every rendered object validates against its schema', () => {
    const cases: Array<[string, string[]]> = [
      ['default values', []],
      ['values-gpu.yaml', ['-f', gpuValues]],
      ['everything switched on', ['-f', gpuValues, ...EVERYTHING]],
      [
        "the chart's own Secret and autoscaling",
        [
          '--set',
          `tokens.autoscaler=${TOKEN}`,
          '--set',
          'workers.cpu.autoscaling.enabled=true',
          '--set',
          'serviceMonitor.enabled=true',
        ],
      ],
    ];
    for (const [what, args] of cases) {
      test(what, () => {
        const objects = render(args);
        assert.ok(objects.length > 5);
        for (const o of objects) {
          const Model = MODELS[`${o.apiVersion}/${o.kind}`];
          assert.ok(Model, `no schema for ${o.apiVersion} ${o.kind} (${o.metadata?.name})`);
          assert.doesNotThrow(
            () => new Model(o as never).validate(),
            `${o.kind} ${o.metadata.name}`,
          );
          assert.ok(o.metadata.labels?.['app.kubernetes.io/instance'] === 'lab', o.metadata.name);
        }
        for (const d of of(objects, 'Deployment')) {
          const selector = d.spec.selector.matchLabels as Record<string, string>;
          for (const [k, v] of Object.entries(selector))
            assert.equal(d.spec.template.metadata.labels[k], v, `${d.metadata.name}: selector`);
          for (const c of containers(d)) {
            const ports = new Set((c.ports ?? []).map((p: K8sObject) => p.name));
            for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
              if (c[probe])
                assert.ok(ports.has(c[probe].httpGet.port), `${d.metadata.name} ${probe}`);
            assert.match(c.image, /^[^:]+(:\d+)?\/?[^:]*:[\w.-]+$/, c.image);
            assert.ok(!c.image.endsWith(':latest'), c.image);
          }
        }
        const services = of(objects, 'Service');
        for (const s of services) {
          const matches = of(objects, 'Deployment').filter((d) =>
            Object.entries(s.spec.selector).every(
              ([k, v]) => d.spec.template.metadata.labels[k] === v,
            ),
          );
          assert.ok(matches.length > 0, `Service ${s.metadata.name} selects no pods`);
        }
      });
    }

    test('a kind without a schema fails the check', () => {
      assert.equal(MODELS['apps/v1/StatefulSet'], undefined);
      assert.throws(() => new Deployment({ spec: { replicas: 'two' } } as K8sObject).validate());
    });
  });

  describe('rendered facts', () => {
    test('GPU workers request nvidia.com/gpu and carry the GPU nodeSelector and tolerations', () => {
      const objects = render(['-f', gpuValues, '--set', 'workers.gpu.gpus=2']);
      const gpu = named(objects, 'Deployment', 'lab-rdlab-worker-gpu');
      const spec = gpu.spec.template.spec;
      const worker = containers(gpu)[0]!;
      assert.equal(worker.resources.limits['nvidia.com/gpu'], 2);
      assert.equal(worker.resources.requests['nvidia.com/gpu'], 2);
      assert.equal(worker.resources.limits.memory, '64Gi'); // the pool's own limits are kept
      assert.equal(spec.nodeSelector['nvidia.com/gpu.present'], 'true');
      assert.ok(
        spec.tolerations.some(
          (t: K8sObject) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule',
        ),
      );
      assert.equal(spec.runtimeClassName, 'nvidia');
      assert.match(worker.image, /^rdlab\/worker-gpu:/);
      assert.equal(gpu.spec.replicas, undefined, 'KEDA owns the replica count');
      assert.equal(gpu.spec.strategy.rollingUpdate.maxSurge, 0);
      const cpu = named(objects, 'Deployment', 'lab-rdlab-worker-cpu');
      assert.equal(containers(cpu)[0]!.resources.limits['nvidia.com/gpu'], undefined);
      assert.equal(cpu.spec.template.spec.nodeSelector, undefined);
      assert.match(containers(cpu)[0]!.image, /^rdlab\/worker-cpu:/);
    });

    test('workers: id from the pod name, /metrics and /healthz on the metrics port, scratch', () => {
      const objects = render(['-f', gpuValues]);
      for (const pool of ['cpu', 'gpu']) {
        const d = named(objects, 'Deployment', `lab-rdlab-worker-${pool}`);
        const c = containers(d)[0]!;
        assert.equal(envOf(c, 'RDLAB_WORKER_ID')?.valueFrom.fieldRef.fieldPath, 'metadata.name');
        assert.equal(envOf(c, 'RDLAB_METRICS_PORT')?.value, '9464');
        assert.equal(envOf(c, 'RDLAB_BACKEND'), undefined, 'the backend is left to auto');
        assert.equal(c.livenessProbe.httpGet.path, '/healthz');
        assert.ok(c.volumeMounts.some((m: K8sObject) => m.mountPath === '/data/work'));
      }
      const service = named(objects, 'Service', 'lab-rdlab-workers');
      assert.equal(service.spec.clusterIP, 'None');
      assert.equal(service.spec.ports[0].name, 'metrics');
    });

    test('the migration Job is a pre-install/pre-upgrade hook running docker/migrate.ts', () => {
      const objects = render([
        '--set',
        `tokens.autoscaler=${TOKEN}`,
        '--set',
        'tokens.team=platform',
      ]);
      const job = named(objects, 'Job', 'lab-rdlab-migrate');
      assert.equal(job.metadata.annotations['helm.sh/hook'], 'pre-install,pre-upgrade');
      assert.match(job.metadata.annotations['helm.sh/hook-delete-policy'], /before-hook-creation/);
      const c = containers(job)[0]!;
      const script = c.command.find((a: string) => a.startsWith('docker/'));
      assert.equal(script, 'docker/migrate.ts');
      assert.ok(existsSync(join(root, script)), `${script} exists`);
      assert.match(c.image, /^rdlab\/api:/);
      assert.equal(envOf(c, 'RDLAB_BOOTSTRAP_TEAM')?.value, 'platform');
      // Pre-install hooks run before the release's Secret exists: the Job reads a hook Secret
      // created just before it.
      const secret = named(
        objects,
        'Secret',
        envOf(c, 'DATABASE_URL')!.valueFrom.secretKeyRef.name,
      );
      assert.equal(secret.metadata.annotations['helm.sh/hook'], 'pre-install,pre-upgrade');
      assert.ok(
        Number(secret.metadata.annotations['helm.sh/hook-weight']) <
          Number(job.metadata.annotations['helm.sh/hook-weight']),
      );
      assert.equal(Buffer.from(secret.data.RDLAB_AUTOSCALER_TOKEN, 'base64').toString(), TOKEN);
      assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    });

    test('without existingSecret every secret reference names a rendered Secret and key', () => {
      const objects = render([
        '--set',
        `tokens.autoscaler=${TOKEN}`,
        '--set',
        'store.s3.accessKeyId=AKIA',
        '--set',
        'store.s3.secretAccessKey=s3cr3t',
        '--set',
        'workers.cpu.autoscaling.enabled=true',
      ]);
      const secrets = new Map(of(objects, 'Secret').map((s) => [s.metadata.name, s]));
      let refs = 0;
      for (const o of objects) {
        for (const ref of secretRefs(o)) {
          refs++;
          const secret = secrets.get(ref.name);
          assert.ok(
            secret,
            `${o.kind} ${o.metadata.name} refers to a Secret ${ref.name} not rendered`,
          );
          assert.ok(ref.key in secret.data, `${ref.name} has no ${ref.key}`);
        }
      }
      assert.ok(refs > 10);
    });

    test('existingSecret switches every secret reference to it, and no Secret is rendered', () => {
      const objects = render([
        '-f',
        gpuValues,
        '--set',
        'api.ingress.enabled=true',
        '--set',
        'existingSecret.name=team-conn',
        '--set',
        'existingSecret.keys.databaseUrl=PG_URL',
        '--set',
        'workers.cpu.autoscaling.enabled=true',
      ]);
      assert.deepEqual(of(objects, 'Secret'), []);
      let refs = 0;
      const kinds = new Set<string>();
      for (const o of objects) {
        for (const ref of secretRefs(o)) {
          refs++;
          kinds.add(o.kind);
          assert.equal(ref.name, 'team-conn', `${o.kind} ${o.metadata.name}`);
        }
      }
      assert.deepEqual([...kinds].sort(), ['Deployment', 'Job', 'TriggerAuthentication']);
      assert.ok(refs > 10);
      for (const d of [...of(objects, 'Deployment'), ...of(objects, 'Job')])
        for (const c of containers(d))
          assert.equal(envOf(c, 'DATABASE_URL')?.valueFrom.secretKeyRef.key, 'PG_URL');
    });

    test("KEDA reads the API's /v1/queue depth with a bearer token from the Secret", () => {
      const objects = render(['-f', gpuValues, '--set', 'workers.cpu.autoscaling.enabled=true']);
      const api = named(objects, 'Service', 'lab-rdlab-api');
      const auth = of(objects, 'TriggerAuthentication');
      assert.equal(auth.length, 1);
      assert.deepEqual(auth[0]!.spec.secretTargetRef, [
        { parameter: 'token', name: 'rdlab-connections', key: 'RDLAB_AUTOSCALER_TOKEN' },
      ]);
      const scaled = of(objects, 'ScaledObject');
      assert.deepEqual(scaled.map((s) => s.metadata.name).sort(), [
        'lab-rdlab-worker-cpu',
        'lab-rdlab-worker-gpu',
      ]);
      for (const s of scaled) {
        named(objects, 'Deployment', s.spec.scaleTargetRef.name);
        const depth = s.spec.triggers.find((t: K8sObject) => t.name === 'depth');
        assert.equal(depth.type, 'metrics-api');
        assert.equal(depth.metadata.valueLocation, 'rdlab-stages.depth');
        assert.equal(depth.metadata.authMode, 'bearer');
        assert.equal(depth.authenticationRef.name, auth[0]!.metadata.name);
        assert.equal(
          depth.metadata.url,
          `http://${api.metadata.name}.rdlab.svc.cluster.local:${api.spec.ports[0].port}/v1/queue`,
        );
        assert.equal(s.spec.advanced.scalingModifiers.formula, 'depth + running');
      }
    });

    test('autoscaling without a token for KEDA fails with what to set', () => {
      const r = run(['template', 'lab', chart, '--set', 'workers.cpu.autoscaling.enabled=true']);
      assert.notEqual(r.status, 0);
      assert.match(r.out, /needs tokens.autoscaler/);
    });

    test('the dashboards are ConfigMaps for the Grafana sidecar, byte for byte the JSON files', async () => {
      const files = (await readdir(join(chart, 'dashboards'))).filter((f) => f.endsWith('.json'));
      assert.ok(files.length >= 2);
      const objects = render(['--set', 'dashboards.annotations.grafana_folder=rdlab']);
      const maps = of(objects, 'ConfigMap').filter((c) => c.metadata.labels.grafana_dashboard);
      assert.equal(maps.length, files.length);
      for (const file of files) {
        const map = maps.find((m) => file in m.data);
        assert.ok(map, `no ConfigMap for ${file}`);
        assert.equal(map.metadata.labels.grafana_dashboard, '1');
        assert.equal(map.metadata.annotations.grafana_folder, 'rdlab');
        const text = await readFile(join(chart, 'dashboards', file), 'utf8');
        assert.equal(map.data[file], text.trimEnd());
        assert.equal(JSON.parse(map.data[file]).uid, JSON.parse(text).uid);
      }
      assert.deepEqual(
        of(render(['--set', 'dashboards.enabled=false']), 'ConfigMap').map((c) => c.metadata.name),
        ['lab-rdlab-config'],
      );
    });

    test('the ServiceMonitor scrapes the API, the scheduler and the workers', () => {
      const objects = render(['-f', gpuValues]);
      const sm = named(objects, 'ServiceMonitor', 'lab-rdlab');
      assert.equal(sm.metadata.labels.release, 'kube-prometheus-stack');
      const ports = sm.spec.endpoints.map((e: K8sObject) => e.port);
      const selected = of(objects, 'Service').filter(
        (s) =>
          Object.entries(sm.spec.selector.matchLabels).every(
            ([k, v]) => s.metadata.labels[k] === v,
          ) &&
          sm.spec.selector.matchExpressions[0].values.includes(
            s.metadata.labels['app.kubernetes.io/component'],
          ),
      );
      assert.deepEqual(selected.map((s) => s.metadata.name).sort(), [
        'lab-rdlab-api',
        'lab-rdlab-scheduler',
        'lab-rdlab-workers',
      ]);
      for (const s of selected)
        assert.ok(
          s.spec.ports.some((p: K8sObject) => ports.includes(p.name)),
          s.metadata.name,
        );
      for (const e of sm.spec.endpoints)
        assert.ok(e.relabelings.some((r: K8sObject) => r.targetLabel === 'component'));
    });

    test('the API listens on 0.0.0.0 with /healthz and /readyz probes; the Ingress routes to it', () => {
      const objects = render(EVERYTHING);
      const api = containers(named(objects, 'Deployment', 'lab-rdlab-api'))[0]!;
      assert.equal(envOf(api, 'RDLAB_API_HOST')?.value, '0.0.0.0');
      assert.equal(api.livenessProbe.httpGet.path, '/healthz');
      assert.equal(api.readinessProbe.httpGet.path, '/readyz');
      assert.equal(api.image, 'registry.internal:5000/rdlab/api:0.1.0');
      const ingress = named(objects, 'Ingress', 'lab-rdlab-api');
      assert.equal(ingress.spec.rules[0].http.paths[0].backend.service.name, 'lab-rdlab-api');
      assert.equal(ingress.spec.ingressClassName, 'nginx');
      const ds = named(objects, 'Secret', 'lab-rdlab-grafana-datasource');
      assert.equal(ds.metadata.labels.grafana_datasource, '1');
      const provisioning = parse(ds.stringData['rdlab-postgres.yaml']);
      assert.equal(provisioning.datasources[0].uid, 'rdlab-postgres');
    });
  });
});
