/**
 * Dispatch behaviour that mutation testing (make mutation, docs/testing.md) showed no other spec
 * pins down: compose replica numbers of any width, the kind label, and refusal details an
 * operator reads (`container_refusals.detail`, the explain command).
 */
import { expect } from 'chai';
import { desiredView } from '../support/fakes.js';
import { oversizedColumns, parseContainerNumber, resolveRow, routeByLabels, type Resolution } from '../../src/domain/dispatch.js';
import type { ContainerItem, ObservedRow } from '../../src/domain/types.js';

const desired = desiredView([
    { id: 'w-proj', kind: 'project', refId: 'p1' },
    { id: 'w-site', kind: 'site', refId: 'site-1' },
    { id: 'w-stack', kind: 'stack', refId: 'stack-1' },
  ], [
    { id: 'stack-1', composeProjectName: 'tinyforge-shop' },
    { id: 'stack-2', composeProjectName: 'tinyforge-noworkload' },
  ]);

function item(labels: Record<string, string>, over: Partial<ContainerItem> = {}): ContainerItem {
  return { id: 'c'.repeat(64), name: 'box', image: 'img:1', state: 'running', labels, ports: [], ...over };
}

function refusal(r: Resolution): Extract<Resolution, { ok: false }> {
  expect(r.ok, JSON.stringify(r)).to.equal(false);
  return r as Extract<Resolution, { ok: false }>;
}

const compose = (number?: string) => ({
  'com.docker.compose.project': 'tinyforge-shop',
  'com.docker.compose.service': 'web',
  ...(number === undefined ? {} : { 'com.docker.compose.container-number': number }),
});

describe('dispatch (behaviour found by mutation testing)', () => {
  describe('compose container numbers', () => {
    it('reads replica numbers of any width up to nine digits', () => {
      const table: Array<[string | undefined, number]> = [
        ['1', 1],
        ['2', 2],
        ['10', 10],
        ['12', 12],
        ['123456789', 123456789],
        [' 12 ', 12],
        ['1234567890', 1],
        ['0', 1],
        ['-3', 1],
        ['2.5', 1],
        ['x', 1],
        ['', 1],
        [undefined, 1],
      ];
      for (const [raw, n] of table) expect(parseContainerNumber(raw), JSON.stringify(raw)).to.equal(n);
    });

    it('gives replicas 10 and 11 their own rows, never replica 1 row', () => {
      const ids = ['1', '10', '11'].map((n) => {
        const r = resolveRow(item(compose(n)), desired, 'local');
        expect(r.ok).to.equal(true);
        return r.ok ? r.row.id : '';
      });
      expect(ids).to.deep.equal(['w-stack:web', 'w-stack:web:10', 'w-stack:web:11']);
      expect(routeByLabels(compose('10'))).to.deep.equal({ path: 'compose', project: 'tinyforge-shop', service: 'web', number: 10 });
    });
  });

  describe('tinyforge.workload.kind', () => {
    it('names the kind column and the row ID when the label is set', () => {
      const r = resolveRow(item({ 'tinyforge.workload.id': 'w-proj', 'tinyforge.workload.kind': 'site' }), desired, 'local');
      expect(r.ok).to.equal(true);
      if (r.ok) expect(r.row).to.include({ id: 'w-proj:site', workloadKind: 'site', workloadId: 'w-proj' });
    });

    it('falls back to the workload kind for the column, and to the container ID for the row ID', () => {
      const r = resolveRow(item({ 'tinyforge.workload.id': 'w-site' }), desired, 'local');
      expect(r.ok).to.equal(true);
      if (r.ok) expect(r.row).to.include({ id: `w-site:${'c'.repeat(64)}`, workloadKind: 'site' });
    });
  });

  describe('refusal details say what is wrong', () => {
    it('names the label or the lookup that failed', () => {
      expect(refusal(resolveRow(item({}), desired, 'local')).detail).to.equal('not a Tinyforge workload container');
      expect(refusal(resolveRow(item({ 'tinyforge.workload.id': 'nope' }), desired, 'local')).detail).to.equal('label tinyforge.workload.id names no workload');
      expect(refusal(resolveRow(item({ 'tinyforge.static-site': 'nope' }), desired, 'local')).detail).to.equal('label tinyforge.static-site names no site workload');
      expect(refusal(resolveRow(item({ 'com.docker.compose.project': 'tinyforge-nope' }), desired, 'local')).detail).to.equal('compose project matches no stack');
      expect(refusal(resolveRow(item({ 'com.docker.compose.project': 'tinyforge-noworkload' }), desired, 'local')).detail).to.equal('stack has no workload');
    });

    it('quotes an unknown Docker state, shortened', () => {
      expect(refusal(resolveRow(item(compose(), { state: 'zombie' }), desired, 'local')).detail).to.equal('unknown Docker state "zombie"');
      const long = refusal(resolveRow(item(compose(), { state: 's'.repeat(100) }), desired, 'local'));
      expect(long.detail).to.equal(`unknown Docker state "${'s'.repeat(80)}...(100 chars)"`);
    });

    it('names every column that is too long, with its length and limit', () => {
      const r = refusal(resolveRow(item({ 'tinyforge.workload.id': 'w-proj', 'tinyforge.role': 'r'.repeat(256) }, { image: 'i'.repeat(1025) }), desired, 'local'));
      expect(r.reason).to.equal('value_too_long');
      expect(r.detail).to.equal('value longer than its column: role (256 > 255 characters), imageRef (1025 > 1024 characters)');
    });

    it('counts characters, not UTF-16 units, against a column', () => {
      const row: ObservedRow = { id: 'w:r', workloadId: 'w', workloadKind: 'project', role: '🚀'.repeat(255), containerId: 'c', imageRef: 'i', host: 'local', state: 'running', port: 0 };
      expect(oversizedColumns(row)).to.deep.equal([]);
      expect(oversizedColumns({ ...row, role: '🚀'.repeat(256) })).to.deep.equal(['role (256 > 255 characters)']);
    });
  });
});
