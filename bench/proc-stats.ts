/**
 * What a benchmark child process (the service, the baseline, the simulator) reports about itself:
 * its CPU time, its resident set and peak (VmHWM), its heap.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** CPU time of this process so far (user + system), ms. */
export function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** VmRSS and VmHWM (peak RSS since start, or since resetPeak()) of this process, kB. */
export function rssKb(): { rssKb: number; hwmKb: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
  return { rssKb: get('VmRSS'), hwmKb: get('VmHWM') };
}

/** process.memoryUsage() with VmRSS and VmHWM. */
export function memory() {
  return { ...process.memoryUsage(), ...rssKb() };
}

/** Resets VmHWM (peak RSS) to the current RSS (Linux clear_refs 5); false where that is refused. */
export function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** A full GC (the process runs with --expose-gc), then process.memoryUsage(): the live heap. */
export function gcNow(): NodeJS.MemoryUsage {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

/** The RPC commands every benchmark child answers about itself (bench/rpc.ts `serveRpc`). */
export const procStatsRpc = {
  /** CPU time of this process so far (user + system, ms). */
  cpu: cpuMs,
  memory,
  /** Resets VmHWM (peak RSS) to the current RSS (Linux clear_refs 5). */
  resetPeak,
  gc: gcNow,
};
