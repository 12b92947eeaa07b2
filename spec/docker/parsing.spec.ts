import { expect } from 'chai';
import { LineSplitter, actionLabel, isRelevantAction, parseEventLine } from '../../src/docker/events.js';
import { backoffDelay } from '../../src/docker/event-watcher.js';
import { cleanLabels, isTinyforgeCandidate, itemFromInspect, itemFromListEntry, orderPorts } from '../../src/docker/items.js';

describe('docker items', () => {
  it('maps a list entry, cleaning what real daemons return', () => {
    const it1 = itemFromListEntry({
      Id: 'abc',
      Names: null,
      Image: 'busybox',
      State: 'running',
      Labels: null,
      Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 7070, Type: 'tcp' },
      ],
    });
    expect(it1).to.deep.equal({ id: 'abc', name: '', image: 'busybox', state: 'running', labels: {}, ports: [7070, 8080, 443] });
    const it2 = itemFromListEntry({ Id: 'x', Names: ['', '/web-1'], State: 'exited', Labels: { a: 'b', 'tinyforge.role': null, 'tinyforge.workload.id': 7, 'com.docker.compose.config-hash': 'f'.repeat(64) } });
    expect(it2.name).to.equal('web-1');
    expect(it2.ports).to.deep.equal([]);
    expect({ ...it2.labels }, 'only dispatch labels are kept, cleaned').to.deep.equal({ 'tinyforge.role': '', 'tinyforge.workload.id': '7' });
    expect({ ...cleanLabels({ a: 'b', n: null }) }).to.deep.equal({ a: 'b', n: '' });
  });

  it('maps an inspect document', () => {
    const it = itemFromInspect({
      Id: 'def',
      Name: '/svc',
      Image: 'sha256:123',
      State: { Status: 'exited' },
      Config: { Image: 'busybox:latest', Labels: { 'tinyforge.managed': 'true' } },
      NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }], '9000/tcp': null } },
    });
    expect(it).to.deep.equal({ id: 'def', name: 'svc', image: 'busybox:latest', state: 'exited', labels: { 'tinyforge.managed': 'true' }, ports: [8080, 9000] });
    expect(itemFromInspect({}).labels).to.deep.equal({});
  });

  it('orders ports and selects Tinyforge candidates', () => {
    expect(orderPorts([9, 3, 9], [1, 3])).to.deep.equal([3, 9, 1]);
    expect(isTinyforgeCandidate({ 'tinyforge.managed': 'true' })).to.equal(true);
    expect(isTinyforgeCandidate({ 'tinyforge.managed': 'false' })).to.equal(false);
    expect(isTinyforgeCandidate({ 'com.docker.compose.project': 'tinyforge-x' })).to.equal(true);
    expect(isTinyforgeCandidate({ 'com.docker.compose.project': 'other' })).to.equal(false);
    expect(cleanLabels([1, 2])).to.deep.equal({});
    expect(cleanLabels('x')).to.deep.equal({});
  });
});

describe('docker event lines', () => {
  const ev = (action: string, id = 'c1') => JSON.stringify({ Type: 'container', Action: action, Actor: { ID: id, Attributes: { 'tinyforge.managed': 'true', name: 'x' } }, time: 1, timeNano: 1700000000123456789 });

  it('parses container events and ignores other types', () => {
    const p = parseEventLine(ev('start'));
    expect(p.kind).to.equal('event');
    if (p.kind === 'event') {
      expect(p.event.action).to.equal('start');
      expect(p.event.id).to.equal('c1');
      expect(p.event.attributes['tinyforge.managed']).to.equal('true');
      expect(typeof p.event.timeNano).to.equal('bigint');
    }
    expect(parseEventLine(JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID: 'n' } })).kind).to.equal('ignored');
    expect(parseEventLine('').kind).to.equal('ignored');
    expect(parseEventLine('{not json').kind).to.equal('malformed');
    expect(parseEventLine('[1,2]').kind).to.equal('malformed');
    expect(parseEventLine('null').kind).to.equal('malformed');
    expect(parseEventLine(JSON.stringify({ Type: 'container', Action: 'start' })).kind).to.equal('malformed');
  });

  it('knows which actions matter and keeps metric labels bounded', () => {
    for (const a of ['create', 'start', 'restart', 'die', 'stop', 'kill', 'oom', 'pause', 'unpause', 'rename', 'update', 'destroy', 'health_status: healthy', 'health_status: unhealthy']) expect(isRelevantAction(a), a).to.equal(true);
    for (const a of ['exec_create: sh', 'attach', 'top', 'resize', 'commit']) expect(isRelevantAction(a), a).to.equal(false);
    expect(actionLabel('health_status: healthy')).to.equal('health_status');
    expect(actionLabel('exec_start: sh -c x')).to.equal('other');
  });

  it('splits chunks that hold several events or half of one', () => {
    const s = new LineSplitter();
    const whole = `${ev('start', 'a')}\n${ev('die', 'b')}\n${ev('stop', 'c')}\n`;
    const cut = [5, 80, whole.length - 3];
    const lines: string[] = [];
    let prev = 0;
    for (const at of [...cut, whole.length]) {
      lines.push(...s.push(Buffer.from(whole.slice(prev, at))).lines);
      prev = at;
    }
    expect(lines.map((l) => (parseEventLine(l) as { event: { id: string } }).event.id)).to.deep.equal(['a', 'b', 'c']);
    expect(s.pendingLength()).to.equal(0);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from(`${JSON.stringify({ Type: 'container', Action: 'rename', Actor: { ID: 'z', Attributes: { name: 'ü🚀' } } })}\n`);
    const i = bytes.indexOf(Buffer.from('🚀')) + 2;
    const out = [...s.push(bytes.subarray(0, i)).lines, ...s.push(bytes.subarray(i)).lines];
    const p = parseEventLine(out[0]!);
    expect(p.kind === 'event' && p.event.attributes.name).to.equal('ü🚀');
  });

  it('drops a line longer than the cap and recovers at the next newline', () => {
    const s = new LineSplitter(100);
    const r1 = s.push('x'.repeat(150));
    expect(r1.overflows).to.equal(1);
    expect(s.push('y'.repeat(500)).lines).to.deep.equal([]);
    const r3 = s.push(`zzz\n${ev('start', 'ok')}\n`);
    expect(r3.lines).to.have.length(1);
    expect(s.pendingLength()).to.equal(0);
  });

  it('survives random input (fuzz): never throws, never returns an event without id and action', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const alphabet = '{}[]":,\\ \nabcTypeActorIDcontainerAction0123456789\u00e9\ud83d\ude80';
    const s = new LineSplitter(4096);
    for (let i = 0; i < 3000; i++) {
      let chunk = '';
      const n = Math.floor(rnd() * 200);
      for (let j = 0; j < n; j++) chunk += alphabet[Math.floor(rnd() * alphabet.length)];
      if (rnd() < 0.1) chunk += `${ev('start', `id${i}`)}\n`;
      for (const line of s.push(chunk).lines) {
        const p = parseEventLine(line);
        if (p.kind === 'event') {
          expect(p.event.id).to.be.a('string').and.not.equal('');
          expect(p.event.action).to.be.a('string').and.not.equal('');
        }
      }
    }
  });

  it('backoff grows exponentially with jitter, capped', () => {
    const o = { baseMs: 100, maxMs: 5000, healthyAfterMs: 1000 };
    expect(backoffDelay(0, o, () => 0)).to.equal(50);
    expect(backoffDelay(0, o, () => 1)).to.equal(100);
    expect(backoffDelay(3, o, () => 1)).to.equal(800);
    expect(backoffDelay(20, o, () => 1)).to.equal(5000);
    expect(backoffDelay(2000, o, () => 0.5)).to.equal(3750);
  });
});
