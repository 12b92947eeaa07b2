import { COMPOSE_PROJECT_PREFIX, DISPATCH_LABELS, LABEL_COMPOSE_PROJECT, LABEL_MANAGED } from '../domain/labels.js';
import { each, type FieldSpec, type Picked, type PickedFields, type RootKind } from './json-scan.js';

/**
 * The cheap look at a `GET /containers/json` entry before anyone parses it: everything
 * `itemFromListEntry` (src/docker/items.ts) reads, picked from the bytes as they stream
 * (src/docker/json-scan.ts). From its `Id` and the labels dispatch reads, it decides exactly as
 * `isTinyforgeCandidate(itemFromListEntry(JSON.parse(entry)).labels)` would, or says `maybe` when
 * only a full parse can tell (a label value that is an array, or a very long one):
 * `spec/docker/items.prescan.spec.ts` checks that on random entries. The rest makes the item
 * itself (`itemFromPicked` in src/docker/items.ts), so a candidate is not parsed either.
 */

/** What the splitter picks from every list entry: what `itemFromListEntry` reads. */
export const LIST_ENTRY_PICK: FieldSpec = {
  Id: true,
  Names: each(true),
  Image: true,
  State: true,
  Labels: Object.fromEntries(DISPATCH_LABELS.map((k) => [k, true as const])),
  Ports: each({ PublicPort: true, PrivatePort: true }),
};

/** The same for an event line: its container (legacy `id`, then `Actor.ID`). */
export const EVENT_LINE_PICK: FieldSpec = { id: true, Actor: { ID: true } };

export type Verdict = 'yes' | 'no' | 'maybe';

/** Which of the two list calls the entry came from (src/docker/docker.client.ts `listManaged`). */
export type ListKind = 'managed' | 'compose';

/**
 * How `cleanValue` (src/docker/items.ts) would turn a picked label value into a string, as far
 * as the scan can know it: the string, or `undefined` for "something only a parse can tell"
 * (an array, whose `String()` joins its elements, or a string longer than was kept).
 */
function labelText(v: Picked | undefined): string | undefined | null {
  if (v === undefined) return null; // absent
  switch (v.kind) {
    case 'string':
      return v.value;
    case 'null':
      return '';
    case 'true':
      return 'true';
    case 'false':
      return 'false';
    case 'number':
      // String(number) never reads "true" nor starts with a letter: as good as any other text here.
      return String(v.value);
    case 'object':
      return '[object Object]';
    default:
      // array, too_long, invalid
      return undefined;
  }
}

/**
 * Whether the entry is a Tinyforge container (`tinyforge.managed=true`, or a compose project
 * starting with `tinyforge-`), from its picked fields.
 */
export function candidateVerdict(fields: PickedFields, rootKind: RootKind): Verdict {
  if (rootKind !== 'object') return 'no';
  const labels = fields.object('Labels');
  if (!labels) return 'no';
  const managed = labelText(labels.value(LABEL_MANAGED));
  if (managed === 'true') return 'yes';
  const project = labelText(labels.value(LABEL_COMPOSE_PROJECT));
  if (project !== undefined && project !== null && project.startsWith(COMPOSE_PROJECT_PREFIX)) return 'yes';
  return managed === undefined || project === undefined ? 'maybe' : 'no';
}

/**
 * Whether the entry is worth parsing for this list: the managed list keeps candidates; the
 * compose list keeps `tinyforge-` projects, except the entries the managed list already has
 * (`tinyforge.managed` written as the string "true", which is what the daemon's filter matches).
 */
export function listVerdict(kind: ListKind, fields: PickedFields, rootKind: RootKind): Verdict {
  if (kind === 'managed') return candidateVerdict(fields, rootKind);
  if (rootKind !== 'object') return 'no';
  const labels = fields.object('Labels');
  if (!labels) return 'no';
  if (labels.string(LABEL_MANAGED) === 'true') return 'no';
  const project = labelText(labels.value(LABEL_COMPOSE_PROJECT));
  if (project === undefined) return 'maybe';
  return project !== null && project.startsWith(COMPOSE_PROJECT_PREFIX) ? 'yes' : 'no';
}

/** The container ID of an entry if its `Id` went by (before any cap), else undefined. */
export function pickedId(fields: PickedFields): string | undefined {
  const id = fields.string('Id');
  return id === undefined || id === '' ? undefined : id;
}

/** The container an event line is about, if its `id` or `Actor.ID` went by. */
export function pickedEventId(fields: PickedFields): string | undefined {
  const id = fields.object('Actor')?.string('ID') || fields.string('id');
  return id === undefined || id === '' ? undefined : id;
}
