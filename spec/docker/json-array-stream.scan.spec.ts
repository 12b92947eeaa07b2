/**
 * The byte-level field scanner (src/docker/json-scan.ts) against JSON.parse: on random documents
 * (escapes, unicode, nested objects in labels, repeated keys, any chunking) it picks exactly
 * the values JSON.parse gives, ends the value where it ends, and fails on broken structure.
 */
import { expect } from 'chai';
import { JsonFieldScanner, JsonScanError, type FieldSpec } from '../../src/docker/json-scan.js';
import { DISPATCH_LABELS } from '../../src/domain/labels.js';
import { int, isObject, jsonObject, jsonString, jsonValue, listEntry, member, plain, project, seeded, ws, type Rnd } from './json-fuzz.js';

const SPEC: FieldSpec = {
  Id: true,
  Labels: Object.fromEntries(DISPATCH_LABELS.map((k) => [k, true as const])),
  Names: true,
  a: { b: { c: true }, '"': true },
  'é🚀': true,
  '': true,
};
const KEYS = ['Id', 'Labels', 'Names', 'a', 'b', 'c', '"', 'é🚀', '', ...DISPATCH_LABELS];

/** Feeds `bytes` in random chunks; returns the scanner and the absolute index where the value ended. */
function scan(bytes: Buffer, r: Rnd, spec: FieldSpec = SPEC, maxValueBytes = 1 << 20, maxChunk = 40): { s: JsonFieldScanner; end: number } {
  const s = new JsonFieldScanner(spec, { maxValueBytes });
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + int(r, maxChunk);
    const chunk = bytes.subarray(i, i + n);
    const at = s.push(chunk);
    if (at !== -1) return { s, end: i + at };
    i += chunk.length;
  }
  s.end();
  return { s, end: bytes.length };
}

describe('JsonFieldScanner (fuzzed against JSON.parse)', () => {
  it('picks exactly what JSON.parse gives, for random documents cut anywhere', () => {
    const r = seeded(20240611);
    let picked = 0;
    for (let k = 0; k < 4000; k++) {
      const text = k % 3 === 0 ? listEntry(r) : ws(r) + (k % 3 === 1 ? jsonObject(r, 4, KEYS) : jsonValue(r, 4, KEYS)) + ws(r);
      const bytes = Buffer.from(text, 'utf8');
      const truth: unknown = JSON.parse(bytes.toString('utf8'));
      const { s, end } = scan(bytes, r, SPEC, 1 << 20, 1 + (k % 50));
      const want = project(truth, SPEC);
      expect(plain(s.fields), text).to.deep.equal(want);
      picked += Object.keys(want).length;
      // The value ends right after its last byte (a number or literal: at the first byte after it).
      expect(end, `where ${text} ends`).to.equal(Buffer.byteLength(text.trimEnd()));
      expect(s.rootKind).to.equal(isObject(truth) ? 'object' : Array.isArray(truth) ? 'array' : typeof truth === 'string' ? 'string' : 'scalar');
    }
    expect(picked, 'the fuzz exercised picks').to.be.greaterThan(3000);
  });

  it('decodes keys and values written with escapes, and lets the last of repeated keys win', () => {
    const text = String.raw`{"\u0049d":"a\"b\\c\u00e9\ud83d\ude80","Labels":{"tinyforge.managed":"true"},"Labels":null,"a":{"b":{"c":1}},"a":{"b":{"c":[1]},"\"":"q"},"":false}`;
    const { s } = scan(Buffer.from(text), seeded(1));
    expect(plain(s.fields)).to.deep.equal({ Id: { kind: 'string', value: 'a"b\\cé🚀' }, a: { b: { c: { kind: 'array' } }, '"': { kind: 'string', value: 'q' } }, '': { kind: 'false' } });
    expect(plain(s.fields)).to.deep.equal(project(JSON.parse(text), SPEC));
  });

  it('keeps a picked string up to maxValueBytes as written, and says too_long beyond', () => {
    const spec: FieldSpec = { v: true };
    for (const [raw, want] of [
      ['"abcd"', { kind: 'string', value: 'abcd' }],
      [String.raw`"\u0041b"`, { kind: 'too_long', bytes: 7 }],
      ['"abcde"', { kind: 'too_long', bytes: 5 }],
      [String.raw`"a\"bc"`, { kind: 'too_long', bytes: 5 }],
      [String.raw`"a\"b"`, { kind: 'string', value: 'a"b' }],
    ] as const) {
      for (let chunk = 1; chunk <= 8; chunk++) {
        const { s } = scan(Buffer.from(`{"v":${raw}}`), () => (chunk - 1) / 40, spec, 4);
        expect(s.fields.value('v'), `${raw} in chunks of ${chunk}`).to.deep.equal(want);
      }
    }
  });

  it('steps over a 40 MB string without keeping it, whatever the chunking', () => {
    const huge = 'x'.repeat(40 << 20);
    const text = Buffer.from(`{"Labels":{"com.example.huge":"${huge}","tinyforge.managed":"true","tinyforge.role":"${huge.slice(0, 1 << 20)}\\""},"Id":"abc"}`);
    const s = new JsonFieldScanner(SPEC, { maxValueBytes: 4096 });
    let end = -1;
    for (let i = 0; i < text.length && end === -1; i += 65536) {
      const at = s.push(text.subarray(i, i + 65536));
      if (at !== -1) end = i + at;
    }
    expect(end).to.equal(text.length);
    expect(plain(s.fields)).to.deep.equal({
      Labels: { 'tinyforge.managed': { kind: 'string', value: 'true' }, 'tinyforge.role': { kind: 'too_long', bytes: (1 << 20) + 2 } },
      Id: { kind: 'string', value: 'abc' },
    });
  });

  it('follows strings across chunk boundaries that split an escape or a run of backslashes', () => {
    const r = seeded(7);
    for (let k = 0; k < 500; k++) {
      const v = '\\'.repeat(int(r, 6)) + '"' + '\\'.repeat(int(r, 5)) + '}]';
      const text = `{"Id":${jsonString(r, v)},"x":[${jsonString(r, v)}],"Names":"${'\\\\'.repeat(int(r, 4))}"}`;
      const { s } = scan(Buffer.from(text), r, SPEC, 1 << 20, 1 + (k % 7));
      expect(plain(s.fields)).to.deep.equal(project(JSON.parse(text), SPEC));
    }
  });

  it('reports values that are not JSON as invalid, and broken structure as an error', () => {
    const { s } = scan(Buffer.from('{"Id":tru,"Names":"\\x","a":{"b":{"c":01}}}'), seeded(3));
    expect(plain(s.fields)).to.deep.equal({ Id: { kind: 'invalid' }, Names: { kind: 'invalid' }, a: { b: { c: { kind: 'invalid' } } } });
    for (const bad of ['{"Id" "x"}', '{"Id":"x" "a":1}', '{1:2}', '{"Id":}', '}']) {
      expect(() => scan(Buffer.from(bad), seeded(3)), bad).to.throw(JsonScanError);
    }
    expect(() => scan(Buffer.from('{"Id":"x"'), seeded(3))).to.throw(/truncated/);
  });

  it('is reusable: reset() starts a new value with fresh fields', () => {
    const s = new JsonFieldScanner(SPEC);
    expect(s.push(Buffer.from('{"Id":"a"} '))).to.equal(10);
    const first = s.fields;
    s.reset();
    expect(s.push(Buffer.from('{"Names":"n"}'))).to.equal(13);
    expect(plain(first)).to.deep.equal({ Id: { kind: 'string', value: 'a' } });
    expect(plain(s.fields)).to.deep.equal({ Names: { kind: 'string', value: 'n' } });
  });

  it('memory stays bounded on deep nesting the spec does not descend into', () => {
    const depth = 200_000;
    const text = Buffer.from(`{"x":${'['.repeat(depth)}${']'.repeat(depth)},${member(seeded(1), 'Id', '"deep"')}}`);
    const { s } = scan(text, seeded(2), SPEC, 64, 4096);
    expect(s.fields.string('Id')).to.equal('deep');
  });
});
