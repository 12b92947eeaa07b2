/**
 * Bulk state and churn, for benchmarks and load tests: `populate` inserts many containers at once without
 * events; `churn` and `churnOnce` change random containers through the public operations, so every change
 * emits the events a daemon would.
 */
import { randomBytes } from 'node:crypto';
import { nowMs } from './clock.js';
import { tinyforgeContainer } from './factory.js';
import type { ContainerStore } from './state.js';
import type { ChurnOptions, SetStateOptions, SimContainer, SimContainerInput, SimState } from './types.js';

/** The simulator operations churn goes through. */
export interface ChurnTarget {
  readonly store: ContainerStore;
  add(c: SimContainerInput): unknown;
  remove(ref: string): void;
  setState(ref: string, state: SimState, opts?: SetStateOptions): void;
}

/** Inserts `n` containers made by `make`, without events; creation times spread over the last day. */
export function populate(store: ContainerStore, n: number, make: (i: number) => Partial<SimContainer>): void {
  const ids = randomBytes(32 * n).toString('hex');
  const now = nowMs();
  const step = Math.min(1000, 86_400_000 / Math.max(1, n));
  for (let i = 0; i < n; i++) {
    const spec = make(store.nextFactoryIndex());
    const state = spec.state ?? 'running';
    if (spec.id !== undefined && !/^[0-9a-f]{64}$/.test(spec.id)) throw new Error(`container id must be 64 hex chars: ${spec.id}`);
    const id = spec.id ?? ids.slice(i * 64, i * 64 + 64);
    // creation spread over the last day, increasing with i (the list is newest first, like the daemon's)
    const ageMs = 1000 + (n - 1 - i) * step;
    const createdMs = now - ageMs;
    const started = state === 'created' ? 0 : createdMs + 500;
    const finished = state === 'exited' || state === 'dead' || state === 'restarting' ? started + (ageMs - 500) * ((i % 10) / 10) : 0;
    const rec = store.makeRec(spec, true, {
      id,
      state,
      created: spec.created ?? Math.floor(createdMs / 1000),
      startedAt: spec.startedAt ?? started,
      finishedAt: spec.finishedAt ?? finished,
    });
    store.insert(rec);
  }
}

/** Continuous churn with events at `opts.perSecond` changes, driven by an unref'd timer. */
export function startChurn(sim: ChurnTarget, opts: ChurnOptions): { stop(): void } {
  const { store } = sim;
  const make = opts.make ?? tinyforgeContainer;
  const tick = opts.tickMs ?? 20;
  const mix = opts.mix ?? { create: 0.2, stateChange: 0.6, remove: 0.2 };
  const total = mix.create + mix.stateChange + mix.remove || 1;
  let budget = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    budget += ((t - last) / 1000) * opts.perSecond;
    last = t;
    while (budget >= 1) {
      budget -= 1;
      const x = Math.random() * total;
      if (x < mix.create || store.size === 0) sim.add(store.uniqueName(make(store.nextFactoryIndex())));
      else if (x < mix.create + mix.stateChange) flip(sim, store.randomId()!);
      else sim.remove(store.randomId()!);
    }
  }, tick);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Synchronously changes `fraction` of the containers, emitting events: ~80% state flips
 * (running<->exited, created/paused/restarting->running), ~20% remove + create of a replacement.
 * Returns how many containers changed.
 */
export function churnOnce(sim: ChurnTarget, fraction: number, make: (i: number) => Partial<SimContainer>): number {
  const { store } = sim;
  const n = Math.round(store.size * Math.max(0, Math.min(1, fraction)));
  // pick n distinct ids by partial Fisher-Yates over a copy of the id array
  const pool = store.ids();
  const picked: string[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    picked.push(pool[i]!);
  }
  for (const id of picked) {
    if (Math.random() < 0.8) flip(sim, id);
    else {
      sim.remove(id);
      sim.add(store.uniqueName(make(store.nextFactoryIndex())));
    }
  }
  return n;
}

/** running -> exited (by stop or by exiting, at random); anything else -> running. */
function flip(sim: ChurnTarget, id: string): void {
  const r = sim.store.byIdExact(id);
  if (!r) return;
  const to: SimState = r.state === 'running' ? 'exited' : 'running';
  sim.setState(id, to, to === 'exited' ? { via: Math.random() < 0.5 ? 'stop' : 'exit' } : {});
}
