/**
 * Every document the simulated daemon writes, as the daemon writes it (field order, nulls, Go escapes): list
 * entries, inspect documents, event lines, /version and /info. Shapes from docker.io 20.10.24 (API 1.41, see
 * spec/docker/docker-sim.conformance.spec.ts) and the Engine API changelog; `Profile` selects the
 * version-dependent fields.
 */
import os from 'node:os';
import { goJson, gs, humanDuration, mapJson, rfc3339Nano } from './go-format.js';
import { sha256hex } from './ids.js';
import { apiNum, type Profile } from './profile.js';
import { isUp, runningFlag, type ContainerStore } from './state.js';
import type { Rec, SimContainer } from './types.js';

/** The daemon's State.String() (list `Status`). */
export function statusText(c: Pick<SimContainer, 'state' | 'startedAt' | 'finishedAt' | 'exitCode' | 'health'>, now = Date.now()): string {
  switch (c.state) {
    case 'running': {
      const up = `Up ${humanDuration(now - c.startedAt)}`;
      if (c.health) return `${up} (${c.health === 'starting' ? 'health: starting' : c.health})`;
      return up;
    }
    case 'paused':
      return `Up ${humanDuration(now - c.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${c.exitCode}) ${humanDuration(now - c.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'created':
      return 'Created';
    case 'exited':
      if (!c.finishedAt) return '';
      return `Exited (${c.exitCode}) ${humanDuration(now - c.finishedAt)} ago`;
  }
}

/** An event line with the legacy `status`/`id`/`from` fields, as the daemon writes container events. `attrs` sorted. */
export function eventLine(ns: bigint, type: string, action: string, id: string, image: string, attrs: Record<string, string>): string {
  return (
    `{"status":${gs(action)},"id":${gs(id)},"from":${gs(image)},"Type":${gs(type)},"Action":${gs(action)},` +
    `"Actor":{"ID":${gs(id)},"Attributes":${mapJson(attrs)}},"scope":"local","time":${ns / 1_000_000_000n},"timeNano":${ns}}\n`
  );
}

/** A network event line (no legacy fields). `attrs` sorted. */
export function networkEventLine(ns: bigint, action: string, networkId: string, attrs: Record<string, string>): string {
  return (
    `{"Type":"network","Action":${gs(action)},"Actor":{"ID":${gs(networkId)},"Attributes":${goJson(attrs)}},` +
    `"scope":"local","time":${ns / 1_000_000_000n},"timeNano":${ns}}\n`
  );
}

/** The network a record is attached to ('default' is the bridge). */
export function netName(r: Rec): string {
  return r.networkMode === 'default' ? 'bridge' : r.networkMode;
}

/** Renders records, /version and /info for one simulated daemon. */
export class Renderer {
  constructor(
    private readonly profile: Profile,
    private readonly store: ContainerStore,
    private readonly daemonId: string,
  ) {}

  // ---- /containers/json -----------------------------------------------------------------------------------------

  /** One `/containers/json` entry. */
  listEntry(r: Rec, now: number, size: boolean): string {
    return (
      `{"Id":"${r.id}","Names":[${gs('/' + r.name)}],"Image":${gs(r.image)},"ImageID":${gs(r.imageId)},` +
      `"Command":${gs(this.commandString(r))},"Created":${r.created},"Ports":${this.portsListJson(r)},` +
      (size ? `"SizeRw":0,"SizeRootFs":4194304,` : '') +
      `"Labels":${mapJson(r.labels)},"State":"${r.state}","Status":${gs(statusText(r, now))},` +
      `"HostConfig":{"NetworkMode":${gs(r.networkMode)}},"NetworkSettings":{"Networks":{${gs(netName(r))}:${this.endpointJson(r, false)}}},` +
      `"Mounts":[]}`
    );
  }

  private portsListJson(r: Rec): string {
    if (r.ports.length === 0) return '[]';
    const up = isUp(r.state);
    const entries: { ip?: string; priv: number; pub?: number; type: string }[] = [];
    if (!up) return '[]';
    for (const p of r.ports) {
      if (p.publicPort === undefined) entries.push({ priv: p.privatePort, type: p.type });
      else if (p.ip) entries.push({ ip: p.ip, priv: p.privatePort, pub: p.publicPort, type: p.type });
      else {
        entries.push({ ip: '0.0.0.0', priv: p.privatePort, pub: p.publicPort, type: p.type });
        entries.push({ ip: '::', priv: p.privatePort, pub: p.publicPort, type: p.type });
      }
    }
    return (
      '[' +
      entries
        .map((e) =>
          e.pub === undefined
            ? `{"PrivatePort":${e.priv},"Type":"${e.type}"}`
            : `{"IP":${gs(e.ip!)},"PrivatePort":${e.priv},"PublicPort":${e.pub},"Type":"${e.type}"}`,
        )
        .join(',') +
      ']'
    );
  }

  private ipOf(r: Rec): { ip: string; gw: string; mac: string; prefix: number } {
    const n = netName(r);
    if (n === 'none' || n === 'host' || !isUp(r.state)) return { ip: '', gw: '', mac: '', prefix: 0 };
    const second = n === 'bridge' ? 17 : 18;
    const idx = r.ipIndex;
    const b3 = (idx >> 8) & 255;
    const b4 = idx & 255 || 2;
    const hx = (x: number) => x.toString(16).padStart(2, '0');
    return { ip: `172.${second}.${b3}.${b4}`, gw: `172.${second}.0.1`, mac: `02:42:ac:${hx(second)}:${hx(b3)}:${hx(b4)}`, prefix: 16 };
  }

  /** EndpointSettings JSON for the container's network (list: Aliases/DNSNames null as the daemon does). */
  private endpointJson(r: Rec, forInspect: boolean): string {
    const n = netName(r);
    const up = isUp(r.state);
    const never = r.state === 'created';
    const networkId = never ? '' : this.store.networkIdFor(n);
    const endpointId = up ? r.id.slice(32) + r.id.slice(0, 32) : '';
    const { ip, gw, mac, prefix } = this.ipOf(r);
    const userNet = n !== 'none' && n !== 'host' && n !== 'bridge';
    let aliases: string[] | null = null;
    let dnsNames: string[] | null = null;
    if (forInspect && userNet) {
      const base = r.aliases ? [...r.aliases] : [];
      if (this.profile.aliasShortId) aliases = never ? (base.length ? base : null) : [...base, r.id.slice(0, 12)];
      else aliases = base.length ? base : null;
      if (this.profile.dnsNames && !never) dnsNames = [r.name, r.id.slice(0, 12), ...base.filter((a) => a !== r.name)];
    }
    const p = this.profile;
    if (p.dnsNames) {
      return (
        `{"IPAMConfig":null,"Links":null,"Aliases":${goJson(aliases)},"MacAddress":${gs(mac)},"DriverOpts":null,` +
        `"NetworkID":${gs(networkId)},"EndpointID":${gs(endpointId)},"Gateway":${gs(gw)},"IPAddress":${gs(ip)},"IPPrefixLen":${prefix},` +
        `"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":${goJson(dnsNames)}}`
      );
    }
    return (
      `{"IPAMConfig":null,"Links":null,"Aliases":${goJson(aliases)},"NetworkID":${gs(networkId)},"EndpointID":${gs(endpointId)},` +
      `"Gateway":${gs(gw)},"IPAddress":${gs(ip)},"IPPrefixLen":${prefix},"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,` +
      `"MacAddress":${gs(mac)},"DriverOpts":null}`
    );
  }

  private commandString(r: Rec): string {
    const full = [...(r.entrypoint ?? []), ...r.cmd];
    if (full.length === 0) return '';
    const [pathArg, ...args] = full;
    if (args.length === 0) return pathArg!;
    return `${pathArg} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
  }

  // ---- /containers/{id}/json --------------------------------------------------------------------------------------

  /** The `/containers/{id}/json` document. */
  inspectJson(r: Rec, size: boolean): string {
    const p = this.profile;
    const full = [...(r.entrypoint ?? []), ...r.cmd];
    const up = isUp(r.state);
    const never = r.state === 'created';
    const dir = `/var/lib/docker/containers/${r.id}`;
    const layer = sha256hex('layer:' + r.id);
    const createdMs = r.created * 1000 + (parseInt(r.id.slice(0, 5), 16) % 1000) + parseInt(r.id.slice(5, 11), 16) / 16_777_216;
    const state: Record<string, unknown> = {
      Status: r.state,
      Running: runningFlag(r.state),
      Paused: r.state === 'paused',
      Restarting: r.state === 'restarting',
      OOMKilled: r.oomKilled,
      Dead: r.state === 'dead',
      Pid: up ? r.pid : 0,
      ExitCode: r.exitCode,
      Error: r.error,
      StartedAt: rfc3339Nano(r.startedAt),
      FinishedAt: rfc3339Nano(r.finishedAt),
    };
    if (r.health) {
      const log = never
        ? []
        : [{ Start: rfc3339Nano(r.startedAt + 1000), End: rfc3339Nano(r.startedAt + 1040), ExitCode: r.health === 'unhealthy' ? 1 : 0, Output: '' }];
      state.Health = { Status: r.health, FailingStreak: r.health === 'unhealthy' ? 3 : 0, Log: log };
    }
    const exposed: Record<string, object> = {};
    const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    const nsPorts: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
    for (const port of r.ports) {
      const key = `${port.privatePort}/${port.type}`;
      exposed[key] = {};
      if (port.publicPort !== undefined) {
        (portBindings[key] ??= []).push({ HostIp: port.ip ?? '', HostPort: String(port.publicPort) });
        if (up) {
          const b = (nsPorts[key] ??= []) as { HostIp: string; HostPort: string }[];
          if (port.ip) b.push({ HostIp: port.ip, HostPort: String(port.publicPort) });
          else b.push({ HostIp: '0.0.0.0', HostPort: String(port.publicPort) }, { HostIp: '::', HostPort: String(port.publicPort) });
        }
      } else if (up && !(key in nsPorts)) nsPorts[key] = null;
    }
    const hostConfig: Record<string, unknown> = {
      Binds: null,
      ContainerIDFile: '',
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: r.networkMode,
      PortBindings: portBindings,
      RestartPolicy: { Name: r.restartPolicy, MaximumRetryCount: 0 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: p.apiNum >= apiNum('1.42') ? 'private' : 'host',
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      GroupAdd: null,
      IpcMode: 'private',
      Cgroup: '',
      Links: null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      UTSMode: '',
      UsernsMode: '',
      ShmSize: 67108864,
      Runtime: 'runc',
      ConsoleSize: [0, 0],
      Isolation: '',
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CgroupParent: '',
      BlkioWeight: 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: null,
      BlkioDeviceWriteBps: null,
      BlkioDeviceReadIOps: null,
      BlkioDeviceWriteIOps: null,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpusetCpus: '',
      CpusetMems: '',
      Devices: [],
      DeviceCgroupRules: null,
      DeviceRequests: null,
      ...(p.kernelMemory ? { KernelMemory: 0, KernelMemoryTCP: 0 } : {}),
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: null,
      OomKillDisable: false,
      PidsLimit: null,
      Ulimits: null,
      CpuCount: 0,
      CpuPercent: 0,
      IOMaximumIOps: 0,
      IOMaximumBandwidth: 0,
      MaskedPaths: [
        '/proc/asound',
        '/proc/acpi',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    };
    const config: Record<string, unknown> = {
      Hostname: r.id.slice(0, 12),
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ...(r.ports.length ? { ExposedPorts: exposed } : {}),
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: r.env,
      Cmd: r.cmd.length ? r.cmd : null,
      ...(r.health ? { Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30_000_000_000 } } : {}),
      Image: r.image,
      Volumes: null,
      WorkingDir: '',
      Entrypoint: r.entrypoint,
      OnBuild: null,
      Labels: r.labels,
    };
    const nn = netName(r);
    const topIp = nn === 'bridge' ? this.ipOf(r) : { ip: '', gw: '', mac: '', prefix: 0 };
    const sandboxId = never ? '' : r.id.slice(16) + r.id.slice(0, 16);
    const networkSettings =
      `{"Bridge":"","SandboxID":${gs(sandboxId)},"HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,` +
      `"Ports":${goJson(nsPorts)},"SandboxKey":${gs(never ? '' : `/var/run/docker/netns/${sandboxId.slice(0, 12)}`)},` +
      `"SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,"EndpointID":${gs(nn === 'bridge' && up ? r.id.slice(32) + r.id.slice(0, 32) : '')},` +
      `"Gateway":${gs(topIp.gw)},"GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAddress":${gs(topIp.ip)},"IPPrefixLen":${topIp.prefix},` +
      `"IPv6Gateway":"","MacAddress":${gs(topIp.mac)},"Networks":{${gs(nn)}:${this.endpointJson(r, true)}}}`;
    const head = {
      Id: r.id,
      Created: rfc3339Nano(createdMs),
      Path: full[0] ?? '',
      Args: full.slice(1),
      State: state,
      Image: r.imageId,
      ResolvConfPath: never ? '' : `${dir}/resolv.conf`,
      HostnamePath: never ? '' : `${dir}/hostname`,
      HostsPath: never ? '' : `${dir}/hosts`,
      LogPath: never ? '' : `${dir}/${r.id}-json.log`,
      Name: '/' + r.name,
      RestartCount: r.restartCount,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: hostConfig,
      GraphDriver: {
        Data: {
          LowerDir: `/var/lib/docker/overlay2/${layer}-init/diff:/var/lib/docker/overlay2/${sha256hex('image-layer:' + r.imageId)}/diff`,
          MergedDir: `/var/lib/docker/overlay2/${layer}/merged`,
          UpperDir: `/var/lib/docker/overlay2/${layer}/diff`,
          WorkDir: `/var/lib/docker/overlay2/${layer}/work`,
        },
        Name: 'overlay2',
      },
      ...(size ? { SizeRw: 0, SizeRootFs: 4194304 } : {}),
      Mounts: [],
      Config: config,
    };
    const headJson = goJson(head);
    return headJson.slice(0, -1) + `,"NetworkSettings":${networkSettings}}`;
  }

  // ---- /version, /info --------------------------------------------------------------------------------------------

  versionDoc(): object {
    const p = this.profile;
    const buildTime = '2025-01-22T13:42:08.000000000+00:00';
    return {
      Platform: { Name: p.apiNum >= apiNum('1.44') ? 'Docker Engine - Community' : '' },
      Components: [
        {
          Name: 'Engine',
          Version: p.engine,
          Details: {
            ApiVersion: p.api,
            Arch: 'amd64',
            BuildTime: buildTime,
            Experimental: 'false',
            GitCommit: p.gitCommit,
            GoVersion: p.goVersion,
            KernelVersion: os.release(),
            MinAPIVersion: p.minApi,
            Os: 'linux',
          },
        },
        { Name: 'containerd', Version: p.containerd, Details: { GitCommit: 'bcc810d6b9066471b0b6fa75f557a15a1cbf31bb' } },
        { Name: 'runc', Version: p.runc, Details: { GitCommit: 'v' + p.runc + '-0-g6c52b3f' } },
        { Name: 'docker-init', Version: '0.19.0', Details: { GitCommit: 'de40ad0' } },
      ],
      Version: p.engine,
      ApiVersion: p.api,
      MinAPIVersion: p.minApi,
      GitCommit: p.gitCommit,
      GoVersion: p.goVersion,
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: os.release(),
      BuildTime: buildTime,
    };
  }

  infoDoc(): object {
    let running = 0;
    let paused = 0;
    for (const r of this.store.values()) {
      if (r.state === 'paused') paused++;
      else if (runningFlag(r.state)) running++;
    }
    const total = this.store.size;
    return {
      ID: this.daemonId,
      Containers: total,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: total - running - paused,
      Images: this.store.imageCount,
      Driver: 'overlay2',
      OSType: 'linux',
      Architecture: 'x86_64',
      OperatingSystem: 'docker-sim',
      KernelVersion: os.release(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      Name: os.hostname(),
      ServerVersion: this.profile.engine,
      DockerRootDir: '/var/lib/docker',
      Labels: [],
      ExperimentalBuild: false,
      Warnings: null,
    };
  }
}

