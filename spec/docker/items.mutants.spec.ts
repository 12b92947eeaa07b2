/**
 * Item mapping behaviour found by mutation testing (make mutation, docs/testing.md): what counts
 * as a port, the order of ports, and the odd values real daemons and Podman return.
 */
import { expect } from 'chai';
import { cleanLabels, itemFromInspect, itemFromListEntry, orderPorts } from '../../src/docker/items.js';

/** The ports a list entry maps to, given the daemon's `Ports`. */
const listPorts = (Ports: unknown) => itemFromListEntry({ Id: 'c', Ports }).ports;
/** The ports an inspect document maps to, given `NetworkSettings.Ports`. */
const inspectPorts = (Ports: unknown) => itemFromInspect({ Id: 'c', NetworkSettings: { Ports } }).ports;

describe('docker items (behaviour found by mutation testing)', () => {
  describe('ports', () => {
    it('accepts 1 to 65535 only, as integers or digit strings', () => {
      expect(listPorts([{ PublicPort: 1 }, { PublicPort: 65535 }, { PublicPort: '8080' }])).to.deep.equal([1, 8080, 65535]);
      for (const bad of [0, -1, 65536, 70000, 1.5, NaN, '0x50', ' 80', '80 ', '1e3', '', null, true, [80], { valueOf: () => 80 }]) {
        expect(listPorts([{ PublicPort: bad }]), String(bad)).to.deep.equal([]);
        expect(inspectPorts({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: bad }] }), `HostPort ${String(bad)}`).to.deep.equal([80]);
      }
      expect(inspectPorts({ '0/tcp': null, '70000/tcp': null, 'x/tcp': null })).to.deep.equal([]);
    });

    it('sorts private ports too, and never leaves the order to the daemon', () => {
      expect(orderPorts([], [443, 80, 8443])).to.deep.equal([80, 443, 8443]);
      expect(orderPorts([9000, 8080], [443, 80])).to.deep.equal([8080, 9000, 80, 443]);
      expect(listPorts([{ PrivatePort: 9000 }, { PrivatePort: 80 }, { PublicPort: 9443, PrivatePort: 443 }, { PublicPort: 8080, PrivatePort: 80 }])).to.deep.equal([8080, 9443, 80, 9000]);
      expect(inspectPorts({ '9000/tcp': null, '80/tcp': [], '443/tcp': [{ HostPort: '9443' }], '22/tcp': [{ HostPort: '2222' }] })).to.deep.equal([2222, 9443, 80, 9000]);
    });

    it('lists a private port only when it is not published', () => {
      expect(listPorts([{ PrivatePort: 80, PublicPort: 8080 }])).to.deep.equal([8080]);
      expect(inspectPorts({ '80/tcp': [{ HostPort: '8080' }] })).to.deep.equal([8080]);
      expect(inspectPorts({ '80/tcp': [{ HostIp: '', HostPort: '' }] }), 'an empty binding publishes nothing').to.deep.equal([80]);
    });

    it('skips entries without a usable port instead of failing', () => {
      expect(listPorts([null, undefined, 'junk', 7, { Type: 'tcp' }, { PrivatePort: 'x' }, { PrivatePort: 80 }])).to.deep.equal([80]);
      expect(inspectPorts({ '80/tcp': [null, { HostPort: '8080' }] })).to.deep.equal([8080]);
      expect(inspectPorts({ 'x/tcp': [{ HostPort: '' }] })).to.deep.equal([]);
    });

    it('takes an inspect document without port bindings (stopped containers, Podman)', () => {
      expect(itemFromInspect({ Id: 'c', NetworkSettings: {} }).ports).to.deep.equal([]);
      expect(inspectPorts(null)).to.deep.equal([]);
      expect(inspectPorts('80/tcp'), 'a string is no port map').to.deep.equal([]);
      expect(itemFromInspect({ Id: 'c' }).ports).to.deep.equal([]);
    });
  });

  describe('names and scalar fields', () => {
    it('strips only a leading slash from names (Podman gives none)', () => {
      expect(itemFromListEntry({ Id: 'c', Names: ['/web-1'] }).name).to.equal('web-1');
      expect(itemFromListEntry({ Id: 'c', Names: ['app/db'] }).name).to.equal('app/db');
      expect(itemFromInspect({ Id: 'c', Name: 'app/db' }).name).to.equal('app/db');
      expect(itemFromInspect({ Id: 'c', Name: '/app/db' }).name).to.equal('app/db');
    });

    it('maps missing or null fields to empty strings and other values to their text', () => {
      const it = itemFromListEntry({ Id: 42, Image: null, State: undefined, Names: [null, 7] });
      expect(it).to.include({ id: '42', image: '', state: '', name: '7' });
      expect(itemFromInspect({ Id: null, Name: undefined, State: { Status: 'RUNNING' } })).to.include({ id: '', name: '', state: 'running', image: '' });
      expect(itemFromInspect({ Id: 'c', Image: 'sha256:1', Config: { Image: '' } }).image, 'Config.Image, else Image').to.equal('sha256:1');
    });
  });

  describe('labels', () => {
    it('cleans null, undefined and non-string values', () => {
      expect({ ...cleanLabels({ a: null, b: undefined, c: 1, d: true, e: 'x' }) }).to.deep.equal({ a: '', b: '', c: '1', d: 'true', e: 'x' });
      const kept = itemFromListEntry({ Id: 'c', Labels: { 'tinyforge.role': undefined, 'tinyforge.workload.id': 5 } }).labels;
      expect({ ...kept }).to.deep.equal({ 'tinyforge.role': '', 'tinyforge.workload.id': '5' });
    });

    it('keeps own labels only, never inherited properties', () => {
      const raw = Object.create({ inherited: 'x' }) as Record<string, unknown>;
      raw.own = 'y';
      expect({ ...cleanLabels(raw) }).to.deep.equal({ own: 'y' });
      expect({ ...cleanLabels(null) }).to.deep.equal({});
    });
  });
});
