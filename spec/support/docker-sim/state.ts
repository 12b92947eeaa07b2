/**
 * Container state: the records (by ID, by name, and in an array for O(1) random picks), how a record is built
 * from a caller's partial container, and the image and network IDs derived for them. No events here: the
 * transitions that emit them are in transitions.ts, the public operations in simulator.ts.
 */
import { sortedObject, sortedOrSame } from './go-format.js';
import { HttpError } from './http-error.js';
import { sha256hex } from './ids.js';
import type { Rec, SimContainer, SimContainerInput, SimState } from './types.js';

export const STATES: readonly SimState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** Has a process that is up (ports published, an IP address). */
export function isUp(s: SimState): boolean {
  return s === 'running' || s === 'paused';
}

/** The daemon's State.Running flag. */
export function runningFlag(s: SimState): boolean {
  return s === 'running' || s === 'paused' || s === 'restarting';
}

/** A caller's copy of a record (no internal fields, nothing shared). */
export function publicCopy(r: Rec): SimContainer {
  const { ipIndex: _ignored, ...rest } = r;
  void _ignored;
  return { ...rest, labels: { ...r.labels }, ports: r.ports.map((p) => ({ ...p })), cmd: [...r.cmd] };
}

/** The fields a new record takes from its creator rather than from the input. */
export type RecOverrides = Pick<SimContainer, 'id' | 'state' | 'created' | 'startedAt' | 'finishedAt'>;

export class ContainerStore {
  private readonly byId = new Map<string, Rec>();
  private readonly byName = new Map<string, string>();
  /** ids in arbitrary order, for O(1) random pick. */
  private readonly idArr: string[] = [];
  private readonly idPos = new Map<string, number>();
  private readonly imageIds = new Map<string, string>();
  private readonly networkIds = new Map<string, string>();
  private ipCounter = 2;
  /** Next index handed to factories (populate, churn): monotonic, so generated names and workloads never repeat. */
  private factoryIndex = 0;

  /** `daemonId` makes network IDs differ between simulators, as between daemons. */
  constructor(private readonly daemonId: string) {}

  get size(): number {
    return this.byId.size;
  }

  /** Images seen so far (/info's `Images`). */
  get imageCount(): number {
    return this.imageIds.size;
  }

  /** Records in insertion order (oldest first). Records are immutable: holding them is a consistent snapshot. */
  values(): IterableIterator<Rec> {
    return this.byId.values();
  }

  /** The record with exactly this ID. */
  byIdExact(id: string): Rec | undefined {
    return this.byId.get(id);
  }

  /** By id, name (with or without the leading slash) or unique id prefix; an ambiguous prefix is a 400. */
  lookup(ref: string): Rec | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.byName.get(ref.replace(/^\//, ''));
    if (byName) return this.byId.get(byName);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    let found: Rec | undefined;
    for (const [id, r] of this.byId) {
      if (id.startsWith(ref)) {
        if (found) throw new HttpError(400, `Multiple IDs found with provided prefix: ${ref}`);
        found = r;
      }
    }
    return found;
  }

  mustLookup(ref: string): Rec {
    const r = this.lookup(ref);
    if (!r) throw new Error(`No such container: ${ref}`);
    return r;
  }

  /** The next index for a container factory. */
  nextFactoryIndex(): number {
    return this.factoryIndex++;
  }

  /** A snapshot of every ID, in arbitrary order. */
  ids(): string[] {
    return this.idArr.slice();
  }

  randomId(): string | undefined {
    return this.idArr.length ? this.idArr[Math.floor(Math.random() * this.idArr.length)] : undefined;
  }

  /** `spec` itself, or a copy named `<name>-<k>` when its name is taken. */
  uniqueName(spec: Partial<SimContainer>): Partial<SimContainer> {
    if (!spec.name || !this.byName.has(spec.name)) return spec;
    let k = 2;
    while (this.byName.has(`${spec.name}-${k}`)) k++;
    return { ...spec, name: `${spec.name}-${k}` };
  }

  /**
   * A new record (not yet inserted). `owned`: populate() path, the input objects (labels, ports) are taken over
   * instead of copied. (No object spread here: V8 makes `{...spec, more}` objects slow, which showed at 100k
   * containers.)
   */
  makeRec(c: SimContainerInput, owned: boolean, ov: RecOverrides): Rec {
    const id = ov.id;
    if (!owned && c.id !== undefined && !/^[0-9a-f]{64}$/.test(id)) throw new Error(`container id must be 64 hex chars: ${id}`);
    if (this.byId.has(id)) throw new Error(`duplicate container id ${id}`);
    let name = c.name ?? `sim_${id.slice(0, 12)}`;
    if (name.charCodeAt(0) === 47) name = name.slice(1);
    if (this.byName.has(name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
    const image = c.image ?? 'busybox:latest';
    const ipIndex = this.ipCounter++;
    const rec: Rec = {
      id,
      name,
      image,
      state: ov.state,
      labels: owned ? sortedOrSame(c.labels) : sortedObject(c.labels),
      ports: owned ? (c.ports ?? []) : (c.ports ?? []).map((p) => Object.assign({}, p)),
      created: ov.created,
      imageId: c.imageId ?? this.imageIdFor(image),
      cmd: c.cmd ?? ['sleep', 'infinity'],
      entrypoint: c.entrypoint ?? null,
      env: c.env === undefined ? DEFAULT_ENV : c.env,
      networkMode: c.networkMode ?? 'tinyforge',
      aliases: c.aliases ?? null,
      exitCode: c.exitCode ?? 0,
      startedAt: ov.startedAt,
      finishedAt: ov.finishedAt,
      health: c.health ?? null,
      restartPolicy: c.restartPolicy ?? 'no',
      restartCount: c.restartCount ?? 0,
      pid: c.pid ?? (runningFlag(ov.state) ? 1000 + (ipIndex % 4_000_000) : 0),
      error: c.error ?? '',
      oomKilled: c.oomKilled ?? false,
      ipIndex,
    };
    return rec;
  }

  insert(r: Rec): void {
    this.byId.set(r.id, r);
    this.byName.set(r.name, r.id);
    this.idPos.set(r.id, this.idArr.length);
    this.idArr.push(r.id);
  }

  drop(id: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.byId.delete(id);
    if (this.byName.get(r.name) === id) this.byName.delete(r.name);
    const pos = this.idPos.get(id)!;
    const lastId = this.idArr.pop()!;
    if (lastId !== id) {
      this.idArr[pos] = lastId;
      this.idPos.set(lastId, pos);
    }
    this.idPos.delete(id);
  }

  /** Replaces the record with a patched copy and returns it. */
  replace(r: Rec, patch: Partial<SimContainer>): Rec {
    const next = Object.assign({}, r, patch) as Rec;
    this.byId.set(r.id, next);
    return next;
  }

  /** Moves the name index to `name` (the record itself is patched by the caller); a taken name is a conflict. */
  rename(r: Rec, name: string): void {
    if (this.byName.has(name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
    this.byName.delete(r.name);
    this.byName.set(name, r.id);
  }

  imageIdFor(image: string): string {
    let v = this.imageIds.get(image);
    if (!v) {
      v = 'sha256:' + sha256hex('image:' + image);
      this.imageIds.set(image, v);
    }
    return v;
  }

  networkIdFor(name: string): string {
    let v = this.networkIds.get(name);
    if (!v) {
      v = sha256hex('network:' + name + ':' + this.daemonId);
      this.networkIds.set(name, v);
    }
    return v;
  }
}
