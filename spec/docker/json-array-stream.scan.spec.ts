/**
 * The byte-level field scanner (src/docker/json-scan.ts) against JSON.parse: on random documents
 * (escapes, unicode, nested objects in labels, repeated keys, any chunking) it picks exactly
 * the values JSON.parse gives, ends the value where it ends, and fails on broken structure.
 */
import { expect } from 'chai';
import { each, JsonFieldScanner, JsonScanError, PickedArray, PickedFields, type FieldSpec } from '../../src/docker/json-scan.js';
import { DISPATCH_LABELS } from '../../src/domain/labels.js';
import { int, isObject, jsonObject, jsonString, jsonValue, listEntry, member, pick, plain, project, seeded, ws, type Rnd } from './json-fuzz.js';

const SPEC: FieldSpec = {
  Id: true,
  Labels: Object.fromEntries(DISPATCH_LABELS.map((k) => [k, true as const])),
  Names: true,
  a: { b: { c: true }, '"': true },
  'é🚀': true,
  '': true,
};
const KEYS = ['Id', 'Labels', 'Names', 'a', 'b', 'c', '"', 'é🚀', '', ...DISPATCH_LABELS];

/** Arrays picked into: of values, of objects (with arrays inside), of arrays; small caps, so random arrays exceed them. */
const ARRAY_SPEC: FieldSpec = {
  Id: true,
  Names: each(true, { maxItems: 3 }),
  Ports: each({ PublicPort: true, PrivatePort: true, x: each(true, { maxItems: 2 }) }),
  m: each(each({ a: true, b: { c: true } }, { maxItems: 2 }), { maxItems: 4 }),
  a: { l: each(true), b: true },
  Labels: Object.fromEntries(DISPATCH_LABELS.map((k) => [k, true as const])),
};
const ARRAY_KEYS = ['Id', 'Names', 'Ports', 'PublicPort', 'PrivatePort', 'x', 'm', 'a', 'b', 'c', 'l', 'Labels', ...DISPATCH_LABELS];

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

  it('picks inside arrays exactly what JSON.parse gives, in order, up to each cap, for random documents cut anywhere', () => {
    const r = seeded(20250301);
    let elements = 0;
    let capped = 0;
    const count = (v: unknown): void => {
      if (v instanceof PickedArray) {
        elements += v.items.length;
        if (!v.complete) capped++;
        v.items.forEach(count);
      } else if (v instanceof PickedFields) for (const [, x] of v.entries()) count(x);
    };
    /** An array of up to 7 random values, objects and arrays (whose keys are the spec's, often). */
    const array = (depth: number): string => {
      const items: string[] = [];
      for (let n = int(r, 8); n > 0; n--) {
        const roll = r();
        items.push(ws(r) + (depth > 0 && roll < 0.4 ? jsonObject(r, depth, ARRAY_KEYS) : depth > 0 && roll < 0.6 ? array(depth - 1) : jsonValue(r, depth, ARRAY_KEYS)) + ws(r));
      }
      return `[${items.join(',') || ws(r)}]`;
    };
    for (let k = 0; k < 4000; k++) {
      const members: string[] = [];
      for (let n = int(r, 4); n > 0; n--) members.push(member(r, pick(r, ['Names', 'Ports', 'm', 'x', 'a']), array(3)));
      const text = ws(r) + (k % 4 === 3 ? jsonValue(r, 5, ARRAY_KEYS) : jsonObject(r, 4, ARRAY_KEYS, members)) + ws(r);
      const bytes = Buffer.from(text, 'utf8');
      const truth: unknown = JSON.parse(text);
      const { s, end } = scan(bytes, r, ARRAY_SPEC, 1 << 20, 1 + (k % 50));
      expect(plain(s.fields), text).to.deep.equal(project(truth, ARRAY_SPEC));
      expect(end, `where ${text} ends`).to.equal(Buffer.byteLength(text.trimEnd()));
      count(s.fields);
    }
    // The fuzz exercised elements, and arrays beyond their cap.
    expect(elements).to.be.greaterThan(3000);
    expect(capped).to.be.greaterThan(100);
  });

  it('picks the same at every chunk boundary of small documents, and from one byte at a time', () => {
    const r = seeded(99);
    let docs = 0;
    while (docs < 300) {
      const text = jsonObject(r, 4, ARRAY_KEYS);
      const bytes = Buffer.from(text, 'utf8');
      if (bytes.length > 300) continue;
      docs++;
      const want = project(JSON.parse(text), ARRAY_SPEC);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const s = new JsonFieldScanner(ARRAY_SPEC);
        const first = s.push(bytes.subarray(0, cut));
        const end = first !== -1 ? first : cut + s.push(bytes.subarray(cut));
        expect(end, `end of ${text} cut at ${cut}`).to.equal(bytes.length);
        expect(plain(s.fields), `${text} cut at ${cut}`).to.deep.equal(want);
      }
      const s = new JsonFieldScanner(ARRAY_SPEC);
      for (let i = 0; i < bytes.length; i++) s.push(bytes.subarray(i, i + 1));
      expect(s.done).to.equal(true);
      expect(plain(s.fields), `${text} byte by byte`).to.deep.equal(want);
    }
  });

  it('keeps the first maxItems elements of a huge array, counts the rest, and steps over them', () => {
    const r = seeded(5);
    const els: string[] = [];
    for (let k = 0; k < 100_000; k++) els.push(k % 3 === 0 ? jsonString(r, `/n${k}"]}`) : k % 3 === 1 ? `{"PublicPort":${k},"x":["a"]}` : jsonValue(r, 3, ARRAY_KEYS));
    const text = `{"Names":[${els.join(',')}],"Ports":[${els.join(',')}],"Id":"after"}`;
    const spec: FieldSpec = { Id: true, Names: each(true), Ports: each({ PublicPort: true }) };
    const { s } = scan(Buffer.from(text), r, spec, 1 << 20, 65536);
    const names = s.fields.array('Names')!;
    const ports = s.fields.array('Ports')!;
    expect([names.count, names.items.length, names.complete]).to.deep.equal([100_000, 256, false]);
    expect([ports.count, ports.items.length, ports.complete]).to.deep.equal([100_000, 256, false]);
    expect(plain(s.fields)).to.deep.equal(project(JSON.parse(text), spec));
    expect(s.fields.string('Id')).to.equal('after');
  });

  it('reads arrays written with escapes and whitespace, repeated keys, and elements of every kind', () => {
    const text =
      String.raw`{"Names":["/old"],"N\u0061mes" : [ "\/a\u00e9" , "" ,null, 1.5e1,true,["x"],{"y":1}, "\ud83d\ude80" ] ,` +
      String.raw`"Ports":[null,{"PublicPort":80,"PublicPort":"81","PrivatePort":1,"x":[1,[2],3]},[],"p",{"x":{}}],"m":[[{"a":1},"s"],5,[]],"a":{"l":[],"b":[1]}}`;
    const { s } = scan(Buffer.from(text), seeded(2), ARRAY_SPEC);
    expect(plain(s.fields)).to.deep.equal(project(JSON.parse(text), ARRAY_SPEC));
    // Beyond maxItems (3) of Names: counted only.
    expect(plain(s.fields).Names).to.deep.equal({ items: [{ kind: 'string', value: '/aé' }, { kind: 'string', value: '' }, { kind: 'null' }], count: 8 });
    const ports = s.fields.array('Ports')!;
    expect(ports.items.map((p) => (p instanceof PickedArray ? 'array' : p instanceof PickedFields ? 'fields' : p.kind))).to.deep.equal(['null', 'fields', 'array', 'string', 'fields']);
    expect(plain(ports.items[1] as PickedFields)).to.deep.equal({
      PublicPort: { kind: 'string', value: '81' },
      PrivatePort: { kind: 'number', value: 1 },
      x: { items: [{ kind: 'number', value: 1 }, { kind: 'array' }], count: 3 },
    });
    // `true` picks an array as its kind; an empty array picked into has no elements.
    expect(s.fields.object('a')!.value('b')).to.deep.equal({ kind: 'array' });
    expect(s.fields.object('a')!.array('l')!.count).to.equal(0);
    // A key the spec descends into whose value is of another kind is left out, as an object's is.
    expect(scan(Buffer.from('{"Names":"x","Ports":{"PublicPort":1}}'), seeded(2), ARRAY_SPEC).s.fields.size).to.equal(0);
  });

  it('reads picked numbers of any length exactly at every chunk boundary (longer than 64 bytes: a number of unknown value)', () => {
    const raws = ['0', '-0', '7', '65535', '-12', '01', '-', '1.5', '1e3', '-0.0e-0', '123456789012345', '1234567890123456', '9007199254740993'];
    for (const len of [15, 16, 63, 64, 65, 70]) raws.push('1'.repeat(len), '-' + '9'.repeat(len - 1), '1.' + '0'.repeat(len - 2));
    for (const raw of raws) {
      const bytes = Buffer.from(`{"Id":${raw},"Names":[${raw}]}`);
      const valid = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(raw);
      const want = !/^-?\d/.test(raw) || (!valid && raw.length <= 64) ? { kind: 'invalid' } : { kind: 'number', value: raw.length > 64 ? NaN : Number(raw) };
      for (let cut = 0; cut <= bytes.length; cut++) {
        const s = new JsonFieldScanner(ARRAY_SPEC);
        if (s.push(bytes.subarray(0, cut)) === -1) s.push(bytes.subarray(cut));
        expect(s.done).to.equal(true);
        expect([s.fields.value('Id'), s.fields.array('Names')!.items[0]], `${raw} cut at ${cut}`).to.deep.equal([want, want]);
      }
    }
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
    // The same inside arrays that are picked into.
    for (const bad of ['{"Names":["a" "b"]}', '{"Names":["a"}', '{"Names":[,]}', '{"Ports":[{"PublicPort" 1}]}', '{"Names":[1:2]}']) {
      expect(() => scan(Buffer.from(bad), seeded(3), ARRAY_SPEC), bad).to.throw(JsonScanError);
    }
    expect(() => scan(Buffer.from('{"Names":["a",'), seeded(3), ARRAY_SPEC)).to.throw(/truncated/);
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
