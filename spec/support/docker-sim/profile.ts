/**
 * What the simulated daemon is: engine, Go, containerd and runc versions, and the few response fields that
 * depend on the API version. Values from real daemons and the Engine API changelog.
 */

export interface Profile {
  api: string;
  apiNum: number;
  engine: string;
  minApi: string;
  goVersion: string;
  gitCommit: string;
  containerd: string;
  runc: string;
  /** Networks[].DNSNames (API >= 1.44). */
  dnsNames: boolean;
  /** Networks[].Aliases carries the short id on user networks (API < 1.45). */
  aliasShortId: boolean;
  /** HostConfig.KernelMemory / KernelMemoryTCP always present (API < 1.42). */
  kernelMemory: boolean;
  /** `die` events carry `execDuration` (Docker >= 23, API >= 1.42). */
  execDuration: boolean;
  /** `_ping` answers Builder-Version and Swarm headers (API >= 1.42). */
  pingExtraHeaders: boolean;
}

/** '1.41' -> 1041, comparable as a number. Throws on anything but MAJOR.MINOR. */
export function apiNum(v: string): number {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new Error(`bad API version ${v}`);
  return Number(m[1]) * 1000 + Number(m[2]);
}

/** The profile of API version `api` (an unknown one gets Docker 27.5.1's build details). */
export function profileFor(api: string, engine?: string): Profile {
  const n = apiNum(api);
  const known: Record<string, [string, string, string]> = {
    '1.41': ['20.10.24', 'go1.19.8', '297e128'],
    '1.42': ['23.0.6', 'go1.19.9', '9dbdbd4'],
    '1.43': ['24.0.9', 'go1.20.13', 'fca702d'],
    '1.44': ['25.0.5', 'go1.21.8', 'e63daec'],
    '1.45': ['26.1.4', 'go1.21.11', 'de5c9cf'],
    '1.46': ['27.1.2', 'go1.21.13', 'f9522e5'],
    '1.47': ['27.5.1', 'go1.22.11', '4c9b3b0'],
    '1.48': ['28.0.4', 'go1.23.7', '6430e49'],
  };
  const k = known[api] ?? ['27.5.1', 'go1.22.11', '4c9b3b0'];
  return {
    api,
    apiNum: n,
    engine: engine ?? k[0],
    minApi: n >= apiNum('1.44') ? '1.24' : '1.12',
    goVersion: k[1],
    gitCommit: k[2],
    containerd: n >= apiNum('1.44') ? '1.7.25' : '1.6.20',
    runc: n >= apiNum('1.44') ? '1.2.4' : '1.1.5',
    dnsNames: n >= apiNum('1.44'),
    aliasShortId: n < apiNum('1.45'),
    kernelMemory: n < apiNum('1.42'),
    execDuration: n >= apiNum('1.42'),
    pingExtraHeaders: n >= apiNum('1.42'),
  };
}
