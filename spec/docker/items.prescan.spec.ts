/**
 * The candidate pre-scan (src/docker/list-entry.ts): from the fields picked out of an entry's
 * bytes, it decides as `isTinyforgeCandidate(itemFromListEntry(JSON.parse(entry)).labels)` does,
 * and says `maybe` only where a parse is needed (a label value that is an array or too long).
 */
import { expect } from 'chai';
import { JsonFieldScanner, type PickedFields, type RootKind } from '../../src/docker/json-scan.js';
import { isTinyforgeCandidate, itemFromListEntry } from '../../src/docker/items.js';
import { candidateVerdict, LIST_ENTRY_PICK, listVerdict, pickedId, type ListKind } from '../../src/docker/list-entry.js';
import { COMPOSE_PROJECT_PREFIX, LABEL_COMPOSE_PROJECT, LABEL_MANAGED } from '../../src/domain/labels.js';
import { int, isObject, listEntry, seeded } from './json-fuzz.js';

function scanEntry(text: string, maxValueBytes = 4096, chunk = 7): { fields: PickedFields; rootKind: RootKind } {
  const s = new JsonFieldScanner(LIST_ENTRY_PICK, { maxValueBytes });
  const b = Buffer.from(text);
  for (let i = 0; i < b.length && !s.done; i += chunk) s.push(b.subarray(i, i + chunk));
  s.end();
  return { fields: s.fields, rootKind: s.rootKind };
}

/** What the old code decided after a full parse, for each list. */
function parsedDecision(kind: ListKind, text: string): boolean {
  const doc = JSON.parse(text) as unknown;
  if (!isObject(doc)) return false;
  const item = itemFromListEntry(doc);
  if (kind === 'managed') return isTinyforgeCandidate(item.labels);
  const raw = isObject(doc.Labels) ? doc.Labels : {};
  // The compose list skips what the managed list already has (the label as the string "true").
  if (raw[LABEL_MANAGED] === 'true') return false;
  return (item.labels[LABEL_COMPOSE_PROJECT] ?? '').startsWith(COMPOSE_PROJECT_PREFIX);
}

/** Whether only a parse can tell: a deciding label value that is an array (strings here are far below the kept length). */
function needsParse(text: string): boolean {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const labels = isObject(doc) && isObject(doc.Labels) ? doc.Labels : {};
  return [LABEL_MANAGED, LABEL_COMPOSE_PROJECT].some((k) => Array.isArray(labels[k]));
}

describe('candidate pre-scan of list entries', () => {
  it('decides like a full parse on random entries (fuzz), and leaves to the parse only what it cannot know', () => {
    const r = seeded(4242);
    const counts = { yes: 0, no: 0, maybe: 0 };
    for (let k = 0; k < 6000; k++) {
      const text = listEntry(r);
      const maxValueBytes = k % 5 === 0 ? 8 + int(r, 24) : 4096;
      const { fields, rootKind } = scanEntry(text, maxValueBytes, 1 + (k % 23));
      for (const kind of ['managed', 'compose'] as const) {
        const v = listVerdict(kind, fields, rootKind);
        counts[v]++;
        const truth = parsedDecision(kind, text);
        if (v === 'yes') expect(truth, `${kind} yes: ${text}`).to.equal(true);
        if (v === 'no') expect(truth, `${kind} no: ${text}`).to.equal(false);
        if (v === 'maybe' && maxValueBytes === 4096) expect(needsParse(text), `${kind} maybe: ${text}`).to.equal(true);
      }
    }
    // Every verdict was exercised (most entries are foreign: no Tinyforge label at all).
    for (const v of ['yes', 'no', 'maybe'] as const) expect(counts[v], JSON.stringify(counts)).to.be.greaterThan(300);
  });

  it('reads candidacy from labels written with escapes, repeated, or of other JSON kinds', () => {
    const table: Array<[entry: string, managed: string, compose: string]> = [
      ['{"Labels":{"tinyforge.managed":"true"}}', 'yes', 'no'],
      [String.raw`{"Labels":{"tinyforge\u002emanaged":"tru\u0065"}}`, 'yes', 'no'],
      ['{"Labels":{"tinyforge.managed":true}}', 'yes', 'no'],
      ['{"Labels":{"tinyforge.managed":"true","tinyforge.managed":"false"}}', 'no', 'no'],
      ['{"Labels":{"tinyforge.managed":"true"},"Labels":{}}', 'no', 'no'],
      ['{"Labels":{"tinyforge.managed":["true"]}}', 'maybe', 'no'],
      ['{"Labels":{"com.docker.compose.project":"tinyforge-web"}}', 'yes', 'yes'],
      [String.raw`{"Labels":{"com.docker.compose.project":"tinyforge\u002dweb"}}`, 'yes', 'yes'],
      ['{"Labels":{"com.docker.compose.project":"tinyforge-web","tinyforge.managed":"true"}}', 'yes', 'no'],
      ['{"Labels":{"com.docker.compose.project":"other"}}', 'no', 'no'],
      ['{"Labels":{"com.docker.compose.project":["tinyforge-x"]}}', 'maybe', 'maybe'],
      // A key that merely ends in the managed label's name is another label (a byte search would be fooled).
      [String.raw`{"Labels":{"x\"tinyforge.managed":"true","com.docker.compose.project":"tinyforge-a"}}`, 'yes', 'yes'],
      ['{"Labels":null}', 'no', 'no'],
      ['[{"Labels":{"tinyforge.managed":"true"}}]', 'no', 'no'],
      ['"tinyforge.managed"', 'no', 'no'],
    ];
    for (const [entry, managed, compose] of table) {
      const { fields, rootKind } = scanEntry(entry);
      expect([listVerdict('managed', fields, rootKind), listVerdict('compose', fields, rootKind)], entry).to.deep.equal([managed, compose]);
      expect(candidateVerdict(fields, rootKind), entry).to.equal(managed);
    }
  });

  it('takes the container ID from Id when it is a non-empty string', () => {
    expect(pickedId(scanEntry('{"Id":"abc"}').fields)).to.equal('abc');
    expect(pickedId(scanEntry('{"Id":""}').fields)).to.equal(undefined);
    expect(pickedId(scanEntry('{"Id":12}').fields)).to.equal(undefined);
    expect(pickedId(scanEntry('{"Names":["/x"]}').fields)).to.equal(undefined);
  });
});
