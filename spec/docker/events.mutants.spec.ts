/**
 * Event-stream parsing behaviour found by mutation testing (make mutation, docs/testing.md):
 * the legacy event format, odd fields, time stamps, and the line splitter's bounds.
 */
import { expect } from 'chai';
import { EVENT_ACTION_LABELS, LineSplitter, RELEVANT_ACTIONS, actionLabel, isRelevantAction, parseEventLine } from '../../src/docker/events.js';

const line = (o: unknown) => JSON.stringify(o);

function event(o: unknown) {
  const p = parseEventLine(typeof o === 'string' ? o : line(o));
  expect(p.kind, p.kind === 'malformed' ? p.reason : p.kind).to.equal('event');
  if (p.kind !== 'event') throw new Error('unreachable');
  return p.event;
}

function malformed(o: unknown): string {
  const p = parseEventLine(typeof o === 'string' ? o : line(o));
  expect(p.kind).to.equal('malformed');
  return p.kind === 'malformed' ? p.reason : '';
}

describe('docker event lines (behaviour found by mutation testing)', () => {
  describe('actions', () => {
    it("treats Podman's remove like Docker's destroy", () => {
      expect(isRelevantAction('remove')).to.equal(true);
      expect(actionLabel('remove')).to.equal('remove');
    });

    it('labels every relevant action by its own name and everything else within the bounded list', () => {
      for (const a of RELEVANT_ACTIONS) expect(actionLabel(a)).to.equal(a);
      const seen = ['start', 'remove', 'health_status: healthy', 'exec_start: sh', 'attach', ''].map(actionLabel);
      expect(seen).to.deep.equal(['start', 'remove', 'health_status', 'other', 'other', 'other']);
      for (const l of seen) expect(EVENT_ACTION_LABELS).to.include(l);
      expect(EVENT_ACTION_LABELS).to.have.members([...RELEVANT_ACTIONS, 'health_status', 'other']);
    });
  });

  describe('what is ignored and what is malformed', () => {
    it('ignores a blank line', () => {
      expect(parseEventLine('   \r')).to.deep.equal({ kind: 'ignored' });
      expect(parseEventLine('')).to.deep.equal({ kind: 'ignored' });
    });

    it('says why a line is malformed', () => {
      expect(malformed('{not json')).to.equal('not JSON');
      for (const v of ['42', '"text"', 'null', '[1]']) expect(malformed(v), v).to.equal('not a JSON object');
      expect(malformed({ Type: 'container', Action: '', Actor: { ID: 'c1' } })).to.equal('container event without action or id');
      expect(malformed({ Type: 'container', Action: 'start', Actor: { ID: '' } })).to.equal('container event without action or id');
      expect(malformed({ Type: 'container', Actor: { ID: 'c1' } }), 'no action at all').to.equal('container event without action or id');
    });

    it('ignores events of other types, and lines that name no type at all', () => {
      expect(parseEventLine(line({ Type: 'network', Action: 'connect', Actor: { ID: 'n1' } }))).to.deep.equal({ kind: 'ignored' });
      expect(parseEventLine(line({ Action: 'start', Actor: { ID: 'c1' } }))).to.deep.equal({ kind: 'ignored' });
      expect(parseEventLine(line({ Type: 5, status: 'start', id: 'c1' }))).to.deep.equal({ kind: 'ignored' });
      expect(parseEventLine(line({ foo: 1 }))).to.deep.equal({ kind: 'ignored' });
    });
  });

  describe('fields', () => {
    it('reads the legacy format (status, id, no Type) as a container event', () => {
      const e = event({ status: 'die', id: 'c1', from: 'busybox', time: 1 });
      expect(e).to.deep.include({ action: 'die', id: 'c1', timeNano: undefined });
      expect({ ...e.attributes }).to.deep.equal({});
    });

    it('prefers Action to status, and falls back to the top-level id when Actor.ID is empty', () => {
      expect(event({ Type: 'container', Action: 'start', status: 'die', Actor: { ID: '' }, id: 'c2' })).to.deep.include({ action: 'start', id: 'c2' });
      expect(event({ Type: 'container', status: 'stop', Actor: { ID: 'c3' } })).to.deep.include({ action: 'stop', id: 'c3' });
    });

    it('keeps attributes as strings, and takes none from a missing or non-object Attributes', () => {
      expect({ ...event({ Type: 'container', Action: 'die', Actor: { ID: 'c', Attributes: { exitCode: 137, name: 'web', ok: true } } }).attributes }).to.deep.equal({ exitCode: '137', name: 'web', ok: 'true' });
      expect({ ...event({ Type: 'container', Action: 'die', Actor: { ID: 'c' } }).attributes }).to.deep.equal({});
      expect({ ...event({ Type: 'container', Action: 'die', Actor: { ID: 'c', Attributes: 'junk' } }).attributes }).to.deep.equal({});
    });

    it('reads timeNano from a number (truncated) or an exact decimal string, nothing else', () => {
      expect(event('{"Type":"container","Action":"start","Actor":{"ID":"c"},"timeNano":"1700000000123456789"}').timeNano).to.equal(1700000000123456789n);
      expect(event({ Type: 'container', Action: 'start', Actor: { ID: 'c' }, timeNano: 1234.9 }).timeNano).to.equal(1234n);
      for (const t of [true, null, 'soon', { n: 1 }]) expect(event({ Type: 'container', Action: 'start', Actor: { ID: 'c' }, timeNano: t }).timeNano, JSON.stringify(t)).to.equal(undefined);
    });
  });

  describe('LineSplitter bounds', () => {
    it('keeps a line of exactly the cap', () => {
      const s = new LineSplitter(5);
      expect(s.push('abcde')).to.deep.equal({ lines: [], overflows: 0 });
      expect(s.push('\n')).to.deep.equal({ lines: ['abcde'], overflows: 0 });
    });

    it('counts one overlong line once however many chunks it spans, and holds none of it', () => {
      const s = new LineSplitter(5);
      expect(s.push('abcdef')).to.deep.equal({ lines: [], overflows: 1 });
      expect(s.pendingLength()).to.equal(0);
      expect(s.push('ghijklmnop')).to.deep.equal({ lines: [], overflows: 0 });
      expect(s.pendingLength()).to.equal(0);
      expect(s.push('qr\nok\n')).to.deep.equal({ lines: ['ok'], overflows: 0 });
    });

    it('reset drops a half line and ends an overlong one', () => {
      const s = new LineSplitter(5);
      s.push('half');
      s.reset();
      expect(s.pendingLength()).to.equal(0);
      expect(s.push('x\n').lines).to.deep.equal(['x']);
      s.push('way too long');
      s.reset();
      expect(s.push('next\n').lines, 'the line after a reset is kept').to.deep.equal(['next']);
    });
  });
});
