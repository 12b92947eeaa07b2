/**
 * The item read from the fields picked out of a list entry's bytes (src/docker/items.ts
 * `itemFromPicked`, with `LIST_ENTRY_PICK` of src/docker/list-entry.ts) against the parse it
 * replaces, `itemFromListEntry(JSON.parse(entry))`: on random entries fed through the splitter in
 * random chunks it is exactly the parsed item whenever it gives one, and it gives one for every
 * entry a daemon writes (the simulator's, and verbatim answers of a real dockerd 20.10 and of Podman).
 */
import { expect } from 'chai';
import { itemFromListEntry, itemFromPicked } from '../../src/docker/items.js';
import { JsonArraySplitter, type SplitElement } from '../../src/docker/json-array-stream.js';
import { LIST_ENTRY_PICK } from '../../src/docker/list-entry.js';
import type { ContainerItem } from '../../src/domain/types.js';
import { fleetContainer } from '../../bench/fleet.js';
import { tinyforgeContainer } from '../support/docker-sim.js';
import { populate } from '../support/docker-sim/bulk.js';
import { profileFor } from '../support/docker-sim/profile.js';
import { Renderer } from '../support/docker-sim/render.js';
import { ContainerStore } from '../support/docker-sim/state.js';
import type { SimContainer } from '../support/docker-sim/types.js';
import { int, itemEntry, seeded, ws, type Rnd } from './json-fuzz.js';

/**
 * `GET /containers/json?all=1` of a real dockerd 20.10.24 (API 1.41), verbatim: a created, an
 * exited and two running containers (spec/support/dockerd.ts runs them with `--network none`),
 * one of them with a label of quotes, backslashes, a tab and non-ASCII text.
 */
const REAL_DOCKERD_20_10: readonly string[] = [
  String.raw`{"Id":"bb1453ad5867f963b68b332c37878cd3c4e1317647f19b8ffa538d99a7284484","Names":["/tf-created"],"Image":"tinyforge-busybox:latest","ImageID":"sha256:dab0cf8cac090a5e554da8a4fdbe011f374bd1cab88cef956a3cc314d0f4ba94","Command":"sleep 3600","Created":1796218022,"Ports":[],"Labels":{"tinyforge.managed":"true"},"State":"created","Status":"Created","HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}},"Mounts":[]}`,
  String.raw`{"Id":"2d74b772431aed8de0bcc1dbcfd187f6bf19944ba195d1678dc6118a50ae7b70","Names":["/tf-site-exited"],"Image":"tinyforge-busybox:latest","ImageID":"sha256:dab0cf8cac090a5e554da8a4fdbe011f374bd1cab88cef956a3cc314d0f4ba94","Command":"true","Created":1796218022,"Ports":[],"Labels":{"tinyforge.managed":"true","tinyforge.static-site":"site-9"},"State":"exited","Status":"Exited (0) Less than a second ago","HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"46bbb45b7ea086fe6feceebaffab136e1e5e21595e9a6db5e420f332a1fce15c","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}},"Mounts":[]}`,
  String.raw`{"Id":"aeac71c1eeeecb71800324a2bf51dc8a941e75cb65d79466557ec0cdaf1544a3","Names":["/tinyforge-stk-3-db-1"],"Image":"tinyforge-busybox:latest","ImageID":"sha256:dab0cf8cac090a5e554da8a4fdbe011f374bd1cab88cef956a3cc314d0f4ba94","Command":"sleep 3600","Created":1796218021,"Ports":[],"Labels":{"com.docker.compose.container-number":"1","com.docker.compose.project":"tinyforge-stk-3","com.docker.compose.service":"db","tinyforge.managed":"true"},"State":"running","Status":"Up Less than a second","HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"46bbb45b7ea086fe6feceebaffab136e1e5e21595e9a6db5e420f332a1fce15c","EndpointID":"b1353bacf32e01f1fd1924e7505f64361ff7b652d0fd8980fa0e25f8738ce21d","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}},"Mounts":[]}`,
  String.raw`{"Id":"e688c6aa9928d85ef2e9ea17bd400c78ac30b680a29de4b955077ceb63b449ae","Names":["/tf-web-1"],"Image":"tinyforge-busybox:latest","ImageID":"sha256:dab0cf8cac090a5e554da8a4fdbe011f374bd1cab88cef956a3cc314d0f4ba94","Command":"sleep 3600","Created":1796218021,"Ports":[],"Labels":{"com.example.note":"quote \" backslash \\ tab \t é 東 🚀 <>&","tinyforge.managed":"true","tinyforge.role":"web","tinyforge.workload.id":"wp-12","tinyforge.workload.kind":"project"},"State":"running","Status":"Up Less than a second","HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"46bbb45b7ea086fe6feceebaffab136e1e5e21595e9a6db5e420f332a1fce15c","EndpointID":"d979f67295d2a67cb1fa4ffc78d1c4a04af6f0083ba87a83f508456306972cd8","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null}}},"Mounts":[]}`,
];

/**
 * A list entry of the same daemon for a container on a user bridge network published with
 * `-p 38080:80 -p 127.0.0.1:38081:81/udp --expose 90`: its `Ports` verbatim (the fixture of
 * spec/docker/docker-sim.conformance.spec.ts), one entry per address family for one port.
 */
const REAL_PUBLISHED =
  '{"Id":"5b1f0e4c8d3f3f0b1f29e5f2a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4","Names":["/tf-pub"],"Image":"tinyforge-busybox:latest",' +
  '"ImageID":"sha256:dab0cf8cac090a5e554da8a4fdbe011f374bd1cab88cef956a3cc314d0f4ba94","Command":"sleep 3600","Created":1796218021,' +
  '"Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":38080,"Type":"tcp"},{"IP":"::","PrivatePort":80,"PublicPort":38080,"Type":"tcp"},' +
  '{"IP":"127.0.0.1","PrivatePort":81,"PublicPort":38081,"Type":"udp"},{"PrivatePort":90,"Type":"tcp"}],' +
  '"Labels":{"tinyforge.managed":"true","tinyforge.role":"web"},"State":"running","Status":"Up 2 minutes",' +
  '"HostConfig":{"NetworkMode":"tf-net"},"NetworkSettings":{"Networks":{"tf-net":{"IPAMConfig":null,"Links":null,"Aliases":null,' +
  '"NetworkID":"46bbb45b7ea086fe6feceebaffab136e1e5e21595e9a6db5e420f332a1fce15c","EndpointID":"b1353bacf32e01f1fd1924e7505f64361ff7b652d0fd8980fa0e25f8738ce21d",' +
  '"Gateway":"172.18.0.1","IPAddress":"172.18.0.2","IPPrefixLen":16,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,' +
  '"MacAddress":"02:42:ac:12:00:02","DriverOpts":null}}},"Mounts":[{"Type":"volume","Name":"data","Source":"/var/lib/docker/volumes/data/_data",' +
  '"Destination":"/data","Driver":"local","Mode":"z","RW":true,"Propagation":""}]}';

/** A list entry of Podman 4.3's Docker-compatible API (spec/support/podman.ts), verbatim: its own extra fields and null networks. */
const REAL_PODMAN = String.raw`{"Id":"2770ca9b5fb6c5c02c1bacf764f3de8f11a258b63db57d8c6b636305a84992c2","Names":["/pm-web"],"Image":"localhost/tinyforge-busybox:latest","ImageID":"sha256:8e12f6e874d723ed3c08254f57ea256e5aec07d9a0064806d1b9e927dd0c4f1d","Command":"sleep 3600","Created":1796218891,"Ports":[],"Labels":{"note":"q \" \\ é 🚀","tinyforge.managed":"true","tinyforge.role":"web"},"State":"running","Status":"Up Less than a second","NetworkSettings":{"Networks":null},"Mounts":[],"Name":"","Config":null,"NetworkingConfig":null,"Platform":null,"AdjustCPUShares":false}`;

/** The list entries a simulated daemon (spec/support/docker-sim) writes for `n` containers made by `make`, at API `api`. */
export function simulatedEntries(n: number, make: (i: number) => Partial<SimContainer>, api = '1.47'): string[] {
  const store = new ContainerStore('items-picked');
  populate(store, n, make);
  const renderer = new Renderer(profileFor(api), store, 'items-picked');
  const now = Date.now();
  return [...store.values()].map((r) => renderer.listEntry(r, now, false));
}

type Outcome = { item: ContainerItem } | { throws: string };

/** What the parse gives for an entry: the item, or the error (String() of an object with its own `toString` key throws). */
function parsed(bytes: Buffer): Outcome {
  try {
    return { item: itemFromListEntry(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) };
  } catch (e) {
    return { throws: String(e) };
  }
}

/** `entries` as one JSON array, through the splitter in chunks of 1..maxChunk bytes (random). */
function split(entries: readonly string[], r: Rnd, maxChunk: number): SplitElement[] {
  const doc = Buffer.from(`${ws(r)}[${entries.map((e) => ws(r) + e + ws(r)).join(',')}]${ws(r)}`, 'utf8');
  const splitter = new JsonArraySplitter({ pick: LIST_ENTRY_PICK });
  const out: SplitElement[] = [];
  for (let i = 0; i < doc.length; ) {
    const n = 1 + int(r, maxChunk);
    out.push(...splitter.push(doc.subarray(i, i + n)));
    i += n;
  }
  splitter.end();
  expect(out).to.have.length(entries.length);
  return out;
}

/** Checks every element: a picked item is exactly the parsed one; returns how many needed the parse. */
function check(elements: readonly SplitElement[]): { fallbacks: number; throws: number } {
  let fallbacks = 0;
  let throws = 0;
  for (const el of elements) {
    const text = el.bytes!.toString('utf8');
    const truth = parsed(el.bytes!);
    const picked = itemFromPicked(el.fields, el.rootKind);
    if ('throws' in truth) {
      throws++;
      expect(picked, `the parse throws (${truth.throws}), the picked fields must not give an item: ${text}`).to.equal(undefined);
    }
    if (picked === undefined) fallbacks++;
    else expect(picked, text).to.deep.equal((truth as { item: ContainerItem }).item);
  }
  return { fallbacks, throws };
}

describe('list entry items from picked fields', () => {
  it('are exactly the parsed item on random entries of every kind, cut anywhere, and none where the parse throws', () => {
    const r = seeded(77001);
    let entries = 0;
    let fallbacks = 0;
    let throws = 0;
    for (let k = 0; k < 300; k++) {
      const batch: string[] = [];
      for (let n = 1 + int(r, 12); n > 0; n--) batch.push(itemEntry(r));
      const got = check(split(batch, r, 1 + (k % 97)));
      entries += batch.length;
      fallbacks += got.fallbacks;
      throws += got.throws;
    }
    // Adversarial entries (arrays, objects, long values where strings are expected, huge arrays,
    // in several fields of each entry): many need the parse, hundreds do not and were compared;
    // the parse threw for some and the picked fields agreed.
    expect(entries).to.be.greaterThan(1500);
    expect(fallbacks, `${fallbacks} of ${entries}`).to.be.within(entries * 0.05, entries - 500);
    expect(throws, 'entries the parse refuses to map').to.be.greaterThan(5);
  });

  it('never need the parse when every read value is decidable: escapes, unicode, numbers, booleans and null as strings, ports as strings', () => {
    const r = seeded(77002);
    let entries = 0;
    for (let k = 0; k < 300; k++) {
      const batch: string[] = [];
      for (let n = 1 + int(r, 12); n > 0; n--) batch.push(itemEntry(r, { decidable: true }));
      const got = check(split(batch, r, 1 + (k % 97)));
      entries += batch.length;
      expect(got.fallbacks, batch.join('\n')).to.equal(0);
    }
    expect(entries).to.be.greaterThan(1500);
  });

  it('are the same at every chunk boundary of small entries', () => {
    const r = seeded(77003);
    let done = 0;
    while (done < 80) {
      const decidable = done % 2 === 0;
      const entry = itemEntry(r, { decidable, small: true });
      const doc = Buffer.from(`[${entry}]`, 'utf8');
      if (doc.length > 320) continue;
      done++;
      const truth = parsed(doc.subarray(1, doc.length - 1));
      for (let cut = 0; cut <= doc.length; cut++) {
        const splitter = new JsonArraySplitter({ pick: LIST_ENTRY_PICK });
        const els = [...splitter.push(doc.subarray(0, cut)), ...splitter.push(doc.subarray(cut))];
        splitter.end();
        expect(els, entry).to.have.length(1);
        const picked = itemFromPicked(els[0]!.fields, els[0]!.rootKind);
        if (!decidable && picked === undefined) continue;
        expect(picked, `${entry} cut at ${cut}`).to.deep.equal('item' in truth ? truth.item : undefined);
      }
    }
  });

  it('never need the parse for what a daemon writes: the simulator at API 1.41, 1.44 and 1.47, a real dockerd 20.10 and Podman 4.3', () => {
    const r = seeded(77004);
    const realistic = [
      ...simulatedEntries(3000, fleetContainer),
      ...simulatedEntries(1500, tinyforgeContainer, '1.41'),
      ...simulatedEntries(1500, (i) => ({ ...tinyforgeContainer(i), health: i % 2 === 0 ? 'healthy' : 'starting' }), '1.44'),
      ...REAL_DOCKERD_20_10,
      REAL_PODMAN,
      REAL_PUBLISHED,
    ];
    const elements = split(realistic, r, 65536);
    const got = check(elements);
    expect(got.fallbacks, 'entries that needed the parse').to.equal(0);
    // The entries had what the item is made of: names, ports of both kinds, labels.
    const items = elements.map((el) => itemFromPicked(el.fields, el.rootKind)!);
    expect(items.filter((i) => i.name !== '' && i.id.length === 64 && i.image !== '')).to.have.length(realistic.length);
    expect(items.some((i) => i.ports.length > 1)).to.equal(true);
    expect(items.at(-1)).to.deep.equal({
      id: '5b1f0e4c8d3f3f0b1f29e5f2a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4',
      name: 'tf-pub',
      image: 'tinyforge-busybox:latest',
      state: 'running',
      labels: { 'tinyforge.managed': 'true', 'tinyforge.role': 'web' },
      ports: [38080, 38081, 90],
    });
    expect(items.find((i) => i.name === 'pm-web')!.state).to.equal('running');
    expect(items.find((i) => i.name === 'tf-web-1')!.labels).to.deep.equal({ 'tinyforge.managed': 'true', 'tinyforge.role': 'web', 'tinyforge.workload.id': 'wp-12', 'tinyforge.workload.kind': 'project' });
  });

  it('maps what the parse maps, case by case', () => {
    const table: Array<[entry: string, item: Partial<ContainerItem> | undefined]> = [
      ['{}', { id: '', name: '', image: '', state: '', labels: {}, ports: [] }],
      ['{"Id":12,"Image":true,"State":null,"Names":[null,"","/","/a"]}', { id: '12', name: '', image: 'true', state: '' }],
      ['{"Names":[1e21,"/a"],"State":"EXITED"}', { name: '1e+21', state: 'exited' }],
      [String.raw`{"Names":["\/\u002fx"],"Id":"a","Id":"b"}`, { id: 'b', name: '/x' }],
      ['{"Labels":{"tinyforge.managed":null,"tinyforge.role":1.50,"x":[1]},"Labels":{"tinyforge.role":false}}', { labels: { 'tinyforge.role': 'false' } }],
      ['{"Ports":[null,[],"80",{"PublicPort":"080","PrivatePort":1},{"PrivatePort":"22"},{"PrivatePort":22.5},{"PublicPort":0,"PrivatePort":3}]}', { ports: [80, 3, 22] }],
      // What only the parse can tell.
      ['{"Id":["a"]}', undefined],
      ['{"Image":{"toString":"x"}}', undefined],
      ['{"Names":["/a",{}]}', undefined],
      ['{"State":"' + 'x'.repeat(5000) + '"}', undefined],
      ['{"Ports":[{"PublicPort":"' + '0'.repeat(5000) + '80"}]}', undefined],
      ['{"Ports":[{"PublicPort":80.' + '0'.repeat(70) + '}]}', undefined],
      ['{"Names":[' + '"/n",'.repeat(256) + '"/last"]}', undefined],
      ['{"Labels":{"tinyforge.managed":["true"]}}', undefined],
      ['{"Id":tru}', undefined],
    ];
    for (const [entry, want] of table) {
      const [el] = split([entry], seeded(1), 7);
      const picked = itemFromPicked(el!.fields, el!.rootKind);
      if (want === undefined) expect(picked, entry).to.equal(undefined);
      else {
        expect(picked, entry).to.include(Object.fromEntries(Object.entries(want).filter(([, v]) => typeof v === 'string')));
        for (const key of ['labels', 'ports'] as const) if (want[key]) expect(picked![key], entry).to.deep.equal(want[key]);
        expect(picked, entry).to.deep.equal(itemFromListEntry(JSON.parse(entry) as Record<string, unknown>));
      }
    }
    // A root that is not an object is left to the parse (the lists never map one: it is no candidate).
    expect(itemFromPicked(split(['"x"'], seeded(1), 7)[0]!.fields, 'string')).to.equal(undefined);
  });
});
