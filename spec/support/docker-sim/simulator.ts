/**
 * `DockerSimulator`, the one class callers use: it builds the parts (state, events, rendering, request log,
 * HTTP server) for one simulated daemon and offers the operations tests drive it with. Each operation changes
 * state through the state machine, so it emits what a daemon would emit for it.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { churnOnce, populate, startChurn, type ChurnTarget } from './bulk.js';
import { ListDrip, type DripOptions } from './drip.js';
import { nowMs } from './clock.js';
import { EventBus } from './events.js';
import { tinyforgeContainer } from './factory.js';
import { sortedObject } from './go-format.js';
import { hex64, sha256hex } from './ids.js';
import { profileFor, type Profile } from './profile.js';
import { Renderer } from './render.js';
import { RequestLog } from './requests.js';
import { ApiServer } from './server.js';
import { ContainerStore, isUp, publicCopy, runningFlag } from './state.js';
import { transition, type TransitionDeps } from './transitions.js';
import type { ChurnOptions, DockerSimulatorOptions, SetStateOptions, SimContainer, SimContainerInput, SimHealth, SimRequest, SimState } from './types.js';

export class DockerSimulator {
  readonly socketPath: string;
  readonly profile: Profile;

  private readonly tmpDir: string | null;
  private readonly store: ContainerStore;
  private readonly events: EventBus;
  private readonly log: RequestLog;
  private readonly server: ApiServer;
  private readonly transitions: TransitionDeps;
  /** What bulk.ts changes containers through. */
  private readonly churnTarget: ChurnTarget;
  private readonly listDrip = new ListDrip();

  private constructor(socketPath: string, tmpDir: string | null, opts: DockerSimulatorOptions) {
    this.socketPath = socketPath;
    this.tmpDir = tmpDir;
    this.profile = profileFor(opts.apiVersion ?? '1.47', opts.engineVersion);
    const daemonId = sha256hex(socketPath).slice(0, 36);
    const store = (this.store = new ContainerStore(daemonId));
    this.events = new EventBus({
      historyMax: opts.eventHistory ?? 256,
      bufferLimit: opts.eventBufferBytes ?? 16 * 1024 * 1024,
      networkIdFor: (name) => store.networkIdFor(name),
    });
    this.log = new RequestLog(opts.requestHistory ?? 1000);
    this.transitions = { store, events: this.events, execDuration: this.profile.execDuration, networkEvents: opts.networkEvents ?? false };
    this.server = new ApiServer({
      socketPath,
      profile: this.profile,
      store,
      renderer: new Renderer(this.profile, store, daemonId),
      events: this.events,
      requests: this.log,
      listDrip: this.listDrip,
    });
    this.churnTarget = {
      store,
      add: (c) => this.add(c),
      remove: (ref) => this.remove(ref),
      setState: (ref, state, o) => this.setState(ref, state, o),
    };
  }

  static async start(opts: DockerSimulatorOptions = {}): Promise<DockerSimulator> {
    let socketPath = opts.socketPath;
    let tmpDir: string | null = null;
    if (!socketPath) {
      tmpDir = await mkdtemp(path.join(os.tmpdir(), 'docker-sim-'));
      socketPath = path.join(tmpDir, 'docker.sock');
    }
    const sim = new DockerSimulator(socketPath, tmpDir, opts);
    await sim.server.listen();
    return sim;
  }

  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  // ----------------------------------------------------------------------------------------------------------
  // Requests
  // ----------------------------------------------------------------------------------------------------------

  /** Counts per "METHOD /route" since start (or resetRequests()). */
  get requestCounts(): Map<string, number> {
    return this.log.counts;
  }

  /** Every non-GET/HEAD request (bounded to the last 10,000). */
  get mutatingRequests(): SimRequest[] {
    return this.log.mutating;
  }

  get totalRequests(): number {
    return this.log.total;
  }

  /** The last `requestHistory` requests (oldest first). */
  get requests(): SimRequest[] {
    return this.log.recent();
  }

  resetRequests(): void {
    this.log.reset();
  }

  /** Sum of request counts whose "METHOD /route" key matches. */
  countRequests(match: string | RegExp): number {
    return this.log.count(match);
  }

  // ----------------------------------------------------------------------------------------------------------
  // State & control
  // ----------------------------------------------------------------------------------------------------------

  get size(): number {
    return this.store.size;
  }

  /** A copy of one container (by id, unique id prefix or name), or undefined. */
  get(ref: string): SimContainer | undefined {
    const r = this.store.lookup(ref);
    return r ? publicCopy(r) : undefined;
  }

  /** Copies of all containers, newest first (the daemon's list order). */
  list(): SimContainer[] {
    return Array.from(this.store.values())
      .reverse()
      .map((r) => publicCopy(r));
  }

  /** Adds a container; emits `create`, then the events that bring it to its state (`start` if running...). */
  add(c: SimContainerInput = {}): SimContainer {
    const target = c.state ?? 'running';
    const rec = this.store.makeRec(c, false, { id: c.id ?? hex64(), state: 'created', created: c.created ?? Math.floor(nowMs() / 1000), startedAt: 0, finishedAt: 0 });
    this.store.insert(rec);
    this.events.container('create', rec);
    if (target !== 'created') transition(this.transitions, rec.id, target, { exitCode: c.exitCode });
    // A (re)start resets health to 'starting'; honour an explicitly requested status as the next check would.
    if (c.health && this.store.byIdExact(rec.id)!.health !== c.health && runningFlag(target)) this.setHealth(rec.id, c.health);
    return this.get(rec.id)!;
  }

  /** Changes state, emitting what a daemon emits for that transition (see transitions.ts). */
  setState(ref: string, state: SimState, opts: SetStateOptions = {}): void {
    const r = this.store.mustLookup(ref);
    transition(this.transitions, r.id, state, opts);
  }

  /** `docker restart`: kill, die, stop, start, restart (exitCode of the die: default 0, a process killed by SIGTERM shows 143). */
  restart(ref: string, opts: { exitCode?: number } = {}): void {
    const r = this.store.mustLookup(ref);
    if (isUp(r.state)) transition(this.transitions, r.id, 'exited', { via: 'stop', exitCode: opts.exitCode ?? 0 });
    transition(this.transitions, r.id, 'running', {});
    this.events.container('restart', this.store.byIdExact(r.id)!);
  }

  /** Sets the health status; healthy/unhealthy emit `health_status: <status>` when it changes. */
  setHealth(ref: string, health: SimHealth | null): void {
    const r = this.store.mustLookup(ref);
    const prev = r.health;
    const next = this.store.replace(r, { health });
    if (health && health !== 'starting' && health !== prev) this.events.container(`health_status: ${health}`, next);
  }

  /** Changes fields without events (labels of a live container cannot change on a real daemon: use with care). */
  update(ref: string, patch: Partial<Omit<SimContainer, 'id'>>): SimContainer {
    const r = this.store.mustLookup(ref);
    if (patch.name && patch.name !== r.name) this.store.rename(r, patch.name);
    const next = this.store.replace(r, { ...patch, ...(patch.labels ? { labels: sortedObject(patch.labels) } : {}) });
    return publicCopy(next);
  }

  /** Removes a container (as `docker rm -f`): kill+die if it was up, then `destroy`. */
  remove(ref: string): void {
    const r = this.store.mustLookup(ref);
    if (runningFlag(r.state)) transition(this.transitions, r.id, 'exited', { via: 'kill' });
    const last = this.store.byIdExact(r.id)!;
    this.store.drop(last.id);
    this.events.container('destroy', last);
  }

  /** Emits a raw container event (status = Action = `action`), e.g. 'health_status: healthy', 'rename', 'oom'. */
  emit(action: string, ref: string, extraAttributes: Record<string, string> = {}): void {
    const r = this.store.lookup(ref);
    if (r) this.events.container(action, r, extraAttributes);
    else this.events.raw('container', action, ref, ref, '', extraAttributes);
  }

  /** Bulk insert without events; fast (100k in well under a second). */
  populate(n: number, make: (i: number) => Partial<SimContainer> = tinyforgeContainer): void {
    populate(this.store, n, make);
  }

  /** Continuous churn with events, driven by a timer. */
  churn(opts: ChurnOptions): { stop(): void } {
    return startChurn(this.churnTarget, opts);
  }

  /**
   * Synchronously changes `fraction` of the containers, emitting events: ~80% state flips
   * (running<->exited, created/paused/restarting->running), ~20% remove + create of a replacement.
   * Returns how many containers changed.
   */
  churnOnce(fraction: number, make: (i: number) => Partial<SimContainer> = tinyforgeContainer): number {
    return churnOnce(this.churnTarget, fraction, make);
  }

  // ----------------------------------------------------------------------------------------------------------
  // Fault injection
  // ----------------------------------------------------------------------------------------------------------

  /** Events not delivered to a stream whose client does not read (the daemon drops them for slow subscribers too). */
  get droppedEvents(): number {
    return this.events.droppedEvents;
  }

  /** Closes all open /events responses: 'destroy' (default) resets the connection; 'end' ends the chunked body cleanly. */
  cutEventStreams(mode: 'destroy' | 'end' = 'destroy'): void {
    this.events.closeAll(mode);
  }

  /**
   * Drips every `/containers/json` answer from now on (default: one byte a second, see drip.ts);
   * `undefined` answers at full speed again (answers already dripping go on until cut).
   */
  dripList(opts: DripOptions | undefined): void {
    this.listDrip.set(opts);
  }

  /** List answers being dripped now, and dripped to their end so far. */
  get dripping(): { active: number; completed: number } {
    return { active: this.listDrip.active, completed: this.listDrip.completed };
  }

  writeRawToEventStreams(chunk: string): void {
    this.events.writeRaw(chunk);
  }

  openEventStreams(): number {
    return this.events.openStreams;
  }

  /** Stops listening (connections refused), destroys open streams and connections. */
  async pauseServer(): Promise<void> {
    await this.server.pause();
  }

  async resumeServer(): Promise<void> {
    await this.server.resume();
  }

  async stop(): Promise<void> {
    await this.server.pause();
    await unlink(this.socketPath).catch(() => undefined);
    if (this.tmpDir) await rm(this.tmpDir, { recursive: true, force: true });
  }
}
