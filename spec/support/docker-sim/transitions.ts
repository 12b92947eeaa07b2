/**
 * The state machine: how a container gets from one state to another and which events a daemon emits on the way
 * (`docker stop` is kill 15, die, stop; `docker kill` is kill 9, die 137; a start resets health to starting).
 */
import { nowMs } from './clock.js';
import type { EventBus } from './events.js';
import { STATES, isUp, runningFlag, type ContainerStore } from './state.js';
import type { Rec, SetStateOptions, SimState } from './types.js';

export interface TransitionDeps {
  store: ContainerStore;
  events: EventBus;
  /** `die` events carry `execDuration` (API >= 1.42). */
  execDuration: boolean;
  /** Emit `network connect/disconnect` around start and die. */
  networkEvents: boolean;
}

/** Moves container `id` to state `to`, replacing its record and emitting each event the daemon would. */
export function transition(deps: TransitionDeps, id: string, to: SimState, opts: SetStateOptions): void {
  const { store, events } = deps;
  if (!STATES.includes(to)) throw new Error(`unknown state ${to}`);
  let r: Rec = store.byIdExact(id)!;
  const from = r.state;
  if (from === to) return;
  const start = () => {
    const restarted = r.state === 'restarting';
    r = store.replace(r, {
      state: 'running',
      startedAt: nowMs(),
      exitCode: 0,
      pid: 1000 + Math.floor(Math.random() * 4_000_000),
      health: r.health ? 'starting' : null,
      restartCount: restarted ? r.restartCount + 1 : r.restartCount,
      error: '',
    });
    if (deps.networkEvents) events.network('connect', r);
    events.container('start', r);
  };
  const die = (code: number, state: SimState) => {
    const t = nowMs();
    r = store.replace(r, { state, exitCode: code, finishedAt: t, pid: 0 });
    const attrs: Record<string, string> = { exitCode: String(code) };
    if (deps.execDuration) attrs.execDuration = String(Math.max(0, Math.floor((t - r.startedAt) / 1000)));
    events.container('die', r, attrs);
    if (deps.networkEvents && state !== 'restarting') events.network('disconnect', r);
  };
  const kill = (signal: number) => events.container('kill', r, { signal: String(signal) });
  const stopSeq = () => {
    const via = opts.via ?? 'stop';
    if (via === 'stop') {
      kill(15);
      die(opts.exitCode ?? 0, 'exited');
      events.container('stop', r);
    } else if (via === 'kill') {
      kill(9);
      die(opts.exitCode ?? 137, 'exited');
    } else die(opts.exitCode ?? 0, 'exited');
  };
  const set = (state: SimState) => {
    r = store.replace(r, { state });
  };

  switch (to) {
    case 'running':
      if (from === 'paused') {
        set('running');
        events.container('unpause', r);
      } else if (from === 'removing' || from === 'dead') {
        start();
      } else start();
      break;
    case 'paused':
      if (!runningFlag(from) || from === 'restarting') start();
      set('paused');
      events.container('pause', r);
      break;
    case 'exited':
      if (from === 'created') {
        start();
        die(opts.exitCode ?? 0, 'exited');
      } else if (from === 'restarting') {
        set('exited');
        events.container('stop', r);
      } else if (isUp(from)) stopSeq();
      else set('exited');
      break;
    case 'restarting':
      if (!isUp(from)) start();
      die(opts.exitCode ?? 1, 'restarting');
      break;
    case 'dead':
      if (runningFlag(from)) {
        kill(9);
        die(opts.exitCode ?? 137, 'dead');
      } else set('dead');
      break;
    case 'removing':
      if (runningFlag(from)) {
        kill(9);
        die(opts.exitCode ?? 137, 'removing');
      } else set('removing');
      break;
    case 'created':
      set('created');
      break;
  }
}
