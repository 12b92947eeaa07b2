import { expect } from 'chai';
import { desiredView } from '../support/fakes.js';
import { composeRowId, hostScopedRowId, normalizeState, oversizedColumns, parseContainerNumber, resolveRow, routeByLabels, sameObserved, workloadRowId } from '../../src/domain/dispatch.js';
import type { ContainerItem } from '../../src/domain/types.js';

const desired = desiredView([
    { id: 'w-proj', kind: 'project', refId: 'p1' },
    { id: 'w-site', kind: 'site', refId: 'site-1' },
    { id: 'w-stack', kind: 'stack', refId: 'stack-1' },
    { id: 'w-orphan-stack', kind: 'stack', refId: 'stack-nowl' },
  ], [
    { id: 'stack-1', composeProjectName: 'tinyforge-shop' },
    { id: 'stack-2', composeProjectName: 'tinyforge-noworkload' },
  ]);

function item(labels: Record<string, string>, over: Partial<ContainerItem> = {}): ContainerItem {
  return { id: 'c'.repeat(64), name: 'box', image: 'img:1', state: 'running', labels, ports: [], ...over };
}

describe('dispatch', () => {
  describe('precedence and row IDs (table)', () => {
    const cases: Array<{ name: string; labels: Record<string, string>; over?: Partial<ContainerItem>; expect: { dispatch: string; id?: string; role?: string; kind?: string; reason?: string } }> = [
      { name: 'workload label with role', labels: { 'tinyforge.workload.id': 'w-proj', 'tinyforge.workload.kind': 'project', 'tinyforge.role': 'blue' }, expect: { dispatch: 'workload', id: 'w-proj:blue', role: 'blue', kind: 'project' } },
      { name: 'workload label beats site and compose labels', labels: { 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'green', 'tinyforge.static-site': 'site-1', 'com.docker.compose.project': 'tinyforge-shop' }, expect: { dispatch: 'workload', id: 'w-proj:green', kind: 'project' } },
      { name: 'workload of kind site without role', labels: { 'tinyforge.workload.id': 'w-site', 'tinyforge.workload.kind': 'site' }, expect: { dispatch: 'workload', id: 'w-site:site', role: '' } },
      { name: 'site workload without kind or role label: the kind comes from the label only, so W:<container ID>, never W:site', labels: { 'tinyforge.workload.id': 'w-site' }, expect: { dispatch: 'workload', id: `w-site:${'c'.repeat(64)}`, role: '', kind: 'site' } },
      { name: 'workload without role or site kind falls back to container ID', labels: { 'tinyforge.workload.id': 'w-proj' }, expect: { dispatch: 'workload', id: `w-proj:${'c'.repeat(64)}`, kind: 'project' } },
      { name: 'forged workload label', labels: { 'tinyforge.workload.id': 'nope', 'tinyforge.role': 'x' }, expect: { dispatch: 'workload', reason: 'unknown_workload' } },
      { name: 'static site label beats compose', labels: { 'tinyforge.static-site': 'site-1', 'com.docker.compose.project': 'tinyforge-shop' }, expect: { dispatch: 'site', id: 'w-site:site', role: '', kind: 'site' } },
      { name: 'unknown static site', labels: { 'tinyforge.static-site': 'site-x' }, expect: { dispatch: 'site', reason: 'unknown_site' } },
      { name: 'compose service', labels: { 'com.docker.compose.project': 'tinyforge-shop', 'com.docker.compose.service': 'web', 'com.docker.compose.container-number': '1' }, expect: { dispatch: 'compose', id: 'w-stack:web', role: 'web', kind: 'stack' } },
      { name: 'compose replica 2', labels: { 'com.docker.compose.project': 'tinyforge-shop', 'com.docker.compose.service': 'web', 'com.docker.compose.container-number': '2' }, expect: { dispatch: 'compose', id: 'w-stack:web:2', role: 'web' } },
      { name: 'compose without service uses the name', labels: { 'com.docker.compose.project': 'tinyforge-shop' }, over: { name: 'shop_x_1' }, expect: { dispatch: 'compose', id: 'w-stack:shop_x_1', role: 'shop_x_1' } },
      { name: 'compose project of another tool', labels: { 'com.docker.compose.project': 'myapp', 'com.docker.compose.service': 'db' }, expect: { dispatch: 'none', reason: 'compose_project_not_tinyforge' } },
      { name: 'compose project with no stack', labels: { 'com.docker.compose.project': 'tinyforge-zzz' }, expect: { dispatch: 'compose', reason: 'unknown_stack' } },
      { name: 'stack without workload', labels: { 'com.docker.compose.project': 'tinyforge-noworkload' }, expect: { dispatch: 'compose', reason: 'unknown_stack_workload' } },
      { name: 'managed but no dispatch label', labels: { 'tinyforge.managed': 'true' }, expect: { dispatch: 'none', reason: 'no_tinyforge_labels' } },
      { name: 'empty workload label falls through to site', labels: { 'tinyforge.workload.id': '', 'tinyforge.static-site': 'site-1' }, expect: { dispatch: 'site', id: 'w-site:site' } },
      { name: 'unknown Docker state refused', labels: { 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'a' }, over: { state: 'zombie' }, expect: { dispatch: 'workload', reason: 'unknown_state' } },
      { name: 'role longer than its column refused', labels: { 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'r'.repeat(10_000) }, expect: { dispatch: 'workload', reason: 'value_too_long' } },
      { name: 'unicode role kept verbatim', labels: { 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'фронт-🚀' }, expect: { dispatch: 'workload', id: 'w-proj:фронт-🚀', role: 'фронт-🚀' } },
      { name: 'SQL metacharacters kept verbatim', labels: { 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': "'); DROP TABLE containers;--" }, expect: { dispatch: 'workload', id: "w-proj:'); DROP TABLE containers;--" } },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = resolveRow(item(c.labels, c.over), desired, 'local');
        expect(r.dispatch).to.equal(c.expect.dispatch);
        if (c.expect.reason) {
          expect(r.ok).to.equal(false);
          if (!r.ok) expect(r.reason).to.equal(c.expect.reason);
          return;
        }
        expect(r.ok, JSON.stringify(r)).to.equal(true);
        if (!r.ok) return;
        expect(r.row.id).to.equal(c.expect.id);
        if (c.expect.role !== undefined) expect(r.row.role).to.equal(c.expect.role);
        if (c.expect.kind !== undefined) expect(r.row.workloadKind).to.equal(c.expect.kind);
        expect(r.row.host).to.equal('local');
        expect(r.row.containerId).to.equal('c'.repeat(64));
        // Any other host scopes the same derived ID by its name.
        const other = resolveRow(item(c.labels, c.over), desired, 'node-a');
        expect(other.ok && other.row.id).to.equal(`${c.expect.id}@node-a`);
        expect(other.ok && other.row.host).to.equal('node-a');
      });
    }
  });

  it('hostScopedRowId keeps the original IDs on host local only', () => {
    expect(hostScopedRowId('w:web', 'local')).to.equal('w:web');
    expect(hostScopedRowId('w:web', 'node-b')).to.equal('w:web@node-b');
    expect(hostScopedRowId('w:web', 'Local')).to.equal('w:web@Local');
  });

  it('an existing row bound to the Docker ID keeps its (deployer-assigned) ID', () => {
    const r = resolveRow(item({ 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'blue' }), desired, 'h', 'uuid-from-deployer');
    expect(r.ok && r.row.id).to.equal('uuid-from-deployer');
  });

  it('uses the first port and 0 when there is none', () => {
    const a = resolveRow(item({ 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'a' }, { ports: [8080, 80] }), desired, 'h');
    const b = resolveRow(item({ 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'a' }), desired, 'h');
    expect(a.ok && a.row.port).to.equal(8080);
    expect(b.ok && b.row.port).to.equal(0);
  });

  it('routeByLabels reads the precedence without any lookup', () => {
    expect(routeByLabels({})).to.deep.equal({ path: 'none', reason: 'no_tinyforge_labels' });
    expect(routeByLabels({ 'com.docker.compose.project': 'tinyforge-a', 'com.docker.compose.service': 's', 'com.docker.compose.container-number': '3' })).to.deep.equal({ path: 'compose', project: 'tinyforge-a', service: 's', number: 3 });
  });

  it('row ID helpers', () => {
    expect(workloadRowId('w', 'project', 'blue', 'cid')).to.equal('w:blue');
    expect(workloadRowId('w', 'site', '', 'cid')).to.equal('w:site');
    expect(workloadRowId('w', 'project', '', 'cid')).to.equal('w:cid');
    expect(composeRowId('w', 'web', 1)).to.equal('w:web');
    expect(composeRowId('w', 'web', 2)).to.equal('w:web:2');
    for (const [raw, n] of [['2', 2], ['0', 1], ['-3', 1], ['x', 1], [undefined, 1], [' 7 ', 7], ['99999999999', 1]] as const) {
      expect(parseContainerNumber(raw), String(raw)).to.equal(n);
    }
  });

  it('normalises Docker states as the Go original does', () => {
    const table: Array<[string, string | undefined]> = [
      ['running', 'running'],
      ['exited', 'stopped'],
      ['dead', 'stopped'],
      ['stopped', 'stopped'],
      ['created', 'created'],
      ['restarting', 'restarting'],
      ['paused', 'paused'],
      ['removing', 'removing'],
      ['', undefined],
      ['RUNNING', undefined],
      ['weird', undefined],
    ];
    for (const [input, out] of table) expect(normalizeState(input), input).to.equal(out);
  });

  it('counts characters, not UTF-16 units, against column limits', () => {
    const row = { id: 'x', workloadId: 'w', workloadKind: 'project', role: '🚀'.repeat(255), containerId: 'c', imageRef: 'i', host: 'h', state: 'running' as const, port: 0 };
    expect(oversizedColumns(row)).to.deep.equal([]);
    expect(oversizedColumns({ ...row, role: '🚀'.repeat(256) })).to.have.length(1);
    expect(oversizedColumns({ ...row, imageRef: 'i'.repeat(1025), host: 'h'.repeat(300) })).to.have.length(2);
  });

  it('sameObserved compares every observed column', () => {
    const a = { id: 'x', workloadId: 'w', workloadKind: 'project', role: 'r', containerId: 'c', imageRef: 'i', host: 'h', state: 'running' as const, port: 1 };
    expect(sameObserved(a, { ...a })).to.equal(true);
    for (const k of Object.keys(a) as Array<keyof typeof a>) {
      const b = { ...a, [k]: k === 'port' ? 2 : k === 'state' ? 'stopped' : 'other' };
      expect(sameObserved(a, b as typeof a), k).to.equal(false);
    }
  });
});
