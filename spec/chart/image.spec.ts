/**
 * The image the chart runs (Dockerfile): the base pinned by digest with a working update path
 * (scripts/update-base-digest.sh, driven here by a stand-in `crane` so no registry is needed), the
 * uid the chart's securityContext expects, and an entrypoint that takes the sidecar's
 * `docker-proxy` arguments.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const VALUES = parse(readFileSync(join(ROOT, 'charts/tinyforge-reconciler/values.yaml'), 'utf8'));
const PINNED = /^[a-z0-9./_-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$/;

describe('Dockerfile: the image the chart runs', function () {
  const args = new Map([...DOCKERFILE.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const froms = [...DOCKERFILE.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gim)].map((m) => ({ image: m[1]!, stage: m[2] }));

  it('pins the base image by digest, and every FROM is that base or an earlier stage', function () {
    expect(args.get('BASE_IMAGE'), 'ARG BASE_IMAGE default').to.match(PINNED);
    expect(args.get('BASE_IMAGE')).to.match(/^node:20-bookworm-slim@/);
    expect(froms.length).to.be.greaterThan(1);
    const stages = new Set<string>();
    for (const f of froms) {
      const ok = f.image === '${BASE_IMAGE}' || stages.has(f.image) || PINNED.test(f.image);
      expect(ok, `FROM ${f.image} is pinned`).to.equal(true);
      if (f.stage) stages.add(f.stage);
    }
    // A `# syntax=` frontend is an image too: none, or pinned.
    for (const m of DOCKERFILE.matchAll(/^# *syntax=(\S+)/gim)) expect(m[1], 'syntax frontend').to.match(PINNED);
  });

  it('runs as the uid/gid the chart sets, with the CLI as entrypoint (the sidecar passes `docker-proxy ...` as args)', function () {
    expect(DOCKERFILE).to.match(/^USER 10001:10001$/m);
    expect(VALUES.podSecurityContext).to.include({ runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 });
    expect(DOCKERFILE).to.match(/^ENTRYPOINT \["node", "\/app\/dist\/src\/cli\.js"\]$/m);
  });

  describe('scripts/update-base-digest.sh (with a stand-in crane)', function () {
    let dir: string;
    const digest = `sha256:${'7'.repeat(64)}`;

    beforeEach(function () {
      dir = mkdtempSync(join(tmpdir(), 'tf-digest-'));
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'bin'));
      copyFileSync(join(ROOT, 'Dockerfile'), join(dir, 'Dockerfile'));
      copyFileSync(join(ROOT, 'scripts/update-base-digest.sh'), join(dir, 'scripts/update-base-digest.sh'));
      // No docker buildx here; `crane digest TAG` answers a fixed digest and records the tag asked.
      writeFileSync(join(dir, 'bin/docker'), '#!/bin/sh\nexit 1\n');
      writeFileSync(join(dir, 'bin/crane'), `#!/bin/sh\necho "$2" >> "${dir}/asked"\necho ${digest}\n`);
      chmodSync(join(dir, 'bin/docker'), 0o755);
      chmodSync(join(dir, 'bin/crane'), 0o755);
    });
    afterEach(function () {
      rmSync(dir, { recursive: true, force: true });
    });

    const run = (...a: string[]) =>
      spawnSync('bash', [join(dir, 'scripts/update-base-digest.sh'), ...a], { encoding: 'utf8', env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` } });
    const baseLine = () => /^ARG BASE_IMAGE=(.*)$/m.exec(readFileSync(join(dir, 'Dockerfile'), 'utf8'))![1];

    it('--check fails while the tag has moved past the pin, the update rewrites only that line, then --check passes', function () {
      const before = readFileSync(join(dir, 'Dockerfile'), 'utf8');
      const mode = statSync(join(dir, 'Dockerfile')).mode;
      expect(run('--check').status).to.equal(1);
      const r = run();
      expect(r.status, r.stderr).to.equal(0);
      expect(baseLine()).to.equal(`node:20-bookworm-slim@${digest}`);
      expect(readFileSync(join(dir, 'asked'), 'utf8').trim().split('\n')).to.deep.equal(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
      const after = readFileSync(join(dir, 'Dockerfile'), 'utf8');
      expect(after.split('\n').filter((l, i) => l !== before.split('\n')[i])).to.deep.equal([`ARG BASE_IMAGE=node:20-bookworm-slim@${digest}`]);
      expect(statSync(join(dir, 'Dockerfile')).mode, 'mode kept').to.equal(mode);
      expect(run('--check').status).to.equal(0);
    });

    it('pins another tag on request, and refuses a digest given as the tag or an answer that is not a digest', function () {
      expect(run('node:20.20.2-bookworm-slim').status).to.equal(0);
      expect(baseLine()).to.equal(`node:20.20.2-bookworm-slim@${digest}`);
      expect(run(`node:20@${digest}`).status).to.equal(2);
      writeFileSync(join(dir, 'bin/crane'), '#!/bin/sh\necho not-a-digest\n');
      const bad = run();
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.match(/could not resolve a digest/);
      expect(baseLine(), 'unchanged after a failure').to.equal(`node:20.20.2-bookworm-slim@${digest}`);
    });
  });
});
