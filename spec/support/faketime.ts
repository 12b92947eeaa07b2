/**
 * Run a child process with a shifted wall clock through libfaketime (Debian package libfaketime,
 * see .ci/install.sh):
 *
 *   const env = { ...process.env, ...faketimeEnv('+10m') };   // this child's clock runs 10 min ahead
 *   spawn(process.execPath, ['dist/src/cli.js', 'run'], { env });
 *
 *   const clock = await faketimeFile('+0');                   // an offset the test can move later
 *   spawn(..., { env: { ...process.env, ...clock.env } });
 *   await clock.set('-1h');                                   // the child's next clock read is 1 h behind
 *
 * Only the wall clock (`Date.now()`, `new Date()`, CLOCK_REALTIME) is shifted by default:
 * FAKETIME_DONT_FAKE_MONOTONIC=1 keeps CLOCK_MONOTONIC real, so Node's timers, `performance.now()`
 * and `process.hrtime()` keep real time. Seen on this machine (Node 20.20, libfaketime 0.9.10):
 * relative offsets (`+10m`, `-3h`, `+1d`, `+1.5`, `+10s`) are stable either way (HTTP, fs,
 * child processes, the libuv thread pool, worker threads, timers, under both libfaketime.so.1
 * and libfaketimeMT.so.1); an absolute, frozen time (`2020-01-01 00:00:00`) with a faked
 * monotonic clock hangs Node for good (no timer ever fires), and a speed factor (`+10m x2`)
 * with a faked monotonic clock makes every timer fire twice as early. Hence the default.
 *
 * The variables are inherited by the child's own children (a shell, `date`, ...): pass a clean
 * environment to those that must see the real time.
 *
 * libfaketime 0.9.10 has every process tree share /dev/shm/faketime_shm_<pid> and
 * /dev/shm/sem.faketime_sem_<pid> (pid of the first process of the tree), removed only when that
 * process exits normally: a child killed by a signal, or one that exec()s another program,
 * leaves them behind (32 bytes each, seen here). The helpers sweep those whose process is gone,
 * when first used and at the end of the run ({@link sweepFaketimeShm}).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { makeOwnedTempDir, processAlive, registerServer, unregisterServer, type TrackedServer } from './proc.js';

export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** The variant that serialises its own state with a mutex (for heavily multi-threaded programs). */
export const LIBFAKETIME_MT = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

export interface FaketimeOptions {
  /** Also shift CLOCK_MONOTONIC (timers, hrtime). Default false: see the module comment. */
  fakeMonotonic?: boolean;
  /** Use libfaketimeMT.so.1. Default false (libfaketime.so.1 was stable under Node here). */
  multiThreaded?: boolean;
  /** LD_PRELOAD entries to keep (appended after libfaketime). Default: none. */
  extraPreload?: string[];
}

/**
 * libfaketime's relative offset syntax: `+10m`, `-3h`, `+1d`, `+90` (seconds), `+1.5`, `+10s`,
 * optionally followed by ` xN` (speed). A number is taken as milliseconds.
 */
export function faketimeOffset(offset: string | number): string {
  if (typeof offset === 'number') {
    if (!Number.isFinite(offset)) throw new Error(`faketime: offset must be finite, got ${offset}`);
    const sec = (Math.abs(offset) / 1000).toFixed(3);
    return `${offset < 0 ? '-' : '+'}${sec}`;
  }
  const s = offset.trim();
  if (!/^[+-]\d+(\.\d+)?[smhdy]?( x\d+(\.\d+)?)?$/.test(s)) {
    throw new Error(`faketime: expected a relative offset like +10m, -3h, +90 or +1.5 (seconds), got ${JSON.stringify(offset)}`);
  }
  return s;
}

function libraryPath(opts: FaketimeOptions): string {
  const lib = opts.multiThreaded ? LIBFAKETIME_MT : LIBFAKETIME;
  if (!fs.existsSync(lib)) throw new Error(`${lib} not found (package libfaketime); see .ci/install.sh`);
  return lib;
}

/**
 * Removes libfaketime's shared-memory segment and semaphore of every process tree whose first
 * process is gone (see the module comment). Returns how many pairs were removed.
 */
export function sweepFaketimeShm(dir = '/dev/shm'): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const m = /^(?:faketime_shm_|sem\.faketime_sem_)(\d+)$/.exec(n);
    if (!m || processAlive(Number(m[1]))) continue;
    try {
      fs.unlinkSync(path.join(dir, n));
      if (n.startsWith('faketime_shm_')) removed++;
    } catch {
      /* gone already */
    }
  }
  return removed;
}

let janitor: TrackedServer | undefined;
function ensureShmJanitor(): void {
  if (janitor) return;
  sweepFaketimeShm();
  janitor = {
    label: 'libfaketime shm janitor',
    dispose: async () => {
      sweepFaketimeShm();
      if (janitor) unregisterServer(janitor);
      janitor = undefined;
    },
    hardKillSync: () => {
      sweepFaketimeShm();
    },
  };
  registerServer(janitor);
}

function baseEnv(opts: FaketimeOptions): Record<string, string> {
  ensureShmJanitor();
  const env: Record<string, string> = { LD_PRELOAD: [libraryPath(opts), ...(opts.extraPreload ?? [])].join(':') };
  if (!opts.fakeMonotonic) env.FAKETIME_DONT_FAKE_MONOTONIC = '1';
  return env;
}

/**
 * Environment variables (to merge over a child's environment) that shift its wall clock by a
 * fixed `offset`: `{ LD_PRELOAD, FAKETIME, FAKETIME_DONT_FAKE_MONOTONIC }`.
 */
export function faketimeEnv(offset: string | number, opts: FaketimeOptions = {}): Record<string, string> {
  return { ...baseEnv(opts), FAKETIME: faketimeOffset(offset) };
}

/** A clock offset read from a file on every clock call, so a test can move it while the child runs. */
export interface FaketimeClock {
  /** Merge over the child's environment (LD_PRELOAD, FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE, ...). */
  readonly env: Record<string, string>;
  readonly file: string;
  /** Replace the offset; the child's next clock read uses it. */
  set(offset: string | number): Promise<void>;
  /** Remove the temp dir. Idempotent (also done at the end of the mocha run). */
  dispose(): Promise<void>;
}

/**
 * Like {@link faketimeEnv}, but the offset lives in a file (FAKETIME_TIMESTAMP_FILE with
 * FAKETIME_NO_CACHE=1) that {@link FaketimeClock.set} rewrites: a clock jump in a running child.
 */
export async function faketimeFile(initial: string | number = '+0', opts: FaketimeOptions = {}): Promise<FaketimeClock> {
  const env0 = baseEnv(opts);
  const dir = await makeOwnedTempDir('/tmp/tfft-');
  const file = path.join(dir, 'faketime.rc');
  let disposed = false;
  const tracked: TrackedServer = {
    label: 'faketime clock file',
    dispose: async () => {
      disposed = true;
      unregisterServer(tracked);
      await fsp.rm(dir, { recursive: true, force: true });
    },
    hardKillSync: () => {
      disposed = true;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  registerServer(tracked);
  const set = async (offset: string | number): Promise<void> => {
    if (disposed) throw new Error('faketimeFile: set() after dispose()');
    // write + rename: the child never reads a half-written file
    const tmp = `${file}.tmp`;
    await fsp.writeFile(tmp, `${faketimeOffset(offset)}\n`);
    await fsp.rename(tmp, file);
  };
  await set(initial);
  return {
    env: { ...env0, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1' },
    file,
    set,
    dispose: tracked.dispose,
  };
}

/**
 * Runs `node -e 'console.log(Date.now())'` under `env` and returns how far its clock is from
 * this process's clock (ms, measured against the midpoint of the call). Throws if the child fails.
 */
export function measureClockShift(env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const before = Date.now();
    execFile(
      process.execPath,
      ['-e', 'console.log(Date.now())'],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const after = Date.now();
        if (err) return reject(new Error(`node under libfaketime failed: ${err.message}\n${stderr}`));
        const child = Number(stdout.trim());
        if (!Number.isFinite(child)) return reject(new Error(`node under libfaketime printed ${JSON.stringify(stdout)}`));
        resolve(child - (before + after) / 2);
      },
    );
  });
}

/**
 * Quick self-check: a child under `faketimeEnv(offset)` sees its clock shifted by `offset`
 * (within `toleranceMs`, which must cover one Node start-up). Throws with what it saw otherwise.
 */
export async function assertFaketimeWorks(offsetMs = 600_000, toleranceMs = 5_000): Promise<number> {
  const shift = await measureClockShift(faketimeEnv(offsetMs));
  if (Math.abs(shift - offsetMs) > toleranceMs) {
    throw new Error(`libfaketime: expected a clock shift of ${offsetMs} ms (+-${toleranceMs}), measured ${Math.round(shift)} ms`);
  }
  return shift;
}
