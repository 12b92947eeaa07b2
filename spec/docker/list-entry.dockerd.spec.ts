/**
 * The item read from picked fields (src/docker/items.ts `itemFromPicked`) on what a REAL Docker
 * engine answers to `GET /containers/json` (a private dockerd, spec/support/dockerd.ts): for
 * every entry it is exactly `itemFromListEntry(JSON.parse(entry))`, without needing the parse.
 * Labels with quotes, backslashes, control characters and non-ASCII text, long and many labels,
 * every state a list shows.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import { itemFromListEntry, itemFromPicked } from '../../src/docker/items.js';
import { JsonArraySplitter, type SplitElement } from '../../src/docker/json-array-stream.js';
import { LIST_ENTRY_PICK } from '../../src/docker/list-entry.js';
import { sharedDockerd, type PrivateDockerd } from '../support/dockerd.js';

/** The raw list of the containers carrying `label`, in chunks of `chunk` bytes as they are split. */
function list(d: PrivateDockerd, label: string, chunk: number): Promise<SplitElement[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: d.socketPath, path: `/containers/json?all=1&filters=${filters}` }, (res) => {
        const splitter = new JsonArraySplitter({ pick: LIST_ENTRY_PICK });
        const out: SplitElement[] = [];
        res.on('data', (c: Buffer) => {
          for (let i = 0; i < c.length; i += chunk) out.push(...splitter.push(c.subarray(i, i + chunk)));
        });
        res.on('end', () => {
          splitter.end();
          resolve(out);
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('list entry items from picked fields, on a real dockerd', function () {
  this.timeout(180_000);
  const token = `le${process.pid}${Date.now().toString(36)}`;
  const tag = `tinyforge.list-entry=${token}`;
  let d: PrivateDockerd;
  const ids: string[] = [];

  before(async () => {
    d = await sharedDockerd();
    const labels = (extra: Record<string, string>) => ({ 'tinyforge.list-entry': token, ...extra });
    ids.push(
      await d.runContainer({
        name: `le-web-${token}`,
        labels: labels({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wp-1', 'tinyforge.role': 'web', 'com.example.note': 'quote " backslash \\ tab \t nl \n é 東 🚀 <>& \u2028' }),
        extraArgs: ['--expose', '80'],
      }),
      await d.runContainer({
        name: `tinyforge-stk-${token}-db-1`,
        labels: labels({ 'com.docker.compose.project': `tinyforge-stk-${token}`, 'com.docker.compose.service': 'db', 'com.docker.compose.container-number': '1' }),
      }),
      await d.runContainer({ name: `le-exited-${token}`, labels: labels({ 'tinyforge.managed': 'true', 'tinyforge.static-site': 'site-1' }), cmd: ['true'], detach: false }),
      await d.runContainer({ name: `le-created-${token}`, labels: labels({ 'tinyforge.managed': 'true', 'tinyforge.role': 'x'.repeat(3000) }), createOnly: true }),
      await d.runContainer({
        name: `le-many-${token}`,
        labels: labels({ 'tinyforge.managed': 'true', ...Object.fromEntries(Array.from({ length: 300 }, (_, k) => [`com.example.l${k}`, `["v${k}"]`])) }),
      }),
    );
  });

  after(async () => {
    if (d && ids.length) await d.docker(['rm', '-f', ...ids], { allowFail: true });
  });

  for (const chunk of [1, 7, 65536]) {
    it(`gives exactly the parsed item for every entry, in chunks of ${chunk} bytes`, async () => {
      const elements = await list(d, tag, chunk);
      expect(elements).to.have.length(ids.length);
      for (const el of elements) {
        const text = el.bytes!.toString('utf8');
        const picked = itemFromPicked(el.fields, el.rootKind);
        expect(picked, `needed the parse: ${text}`).to.not.equal(undefined);
        expect(picked, text).to.deep.equal(itemFromListEntry(JSON.parse(text) as Record<string, unknown>));
      }
      const byName = new Map(elements.map((el) => [itemFromPicked(el.fields, el.rootKind)!.name, itemFromPicked(el.fields, el.rootKind)!]));
      expect(byName.get(`le-web-${token}`)!.labels).to.deep.equal({ 'tinyforge.managed': 'true', 'tinyforge.workload.id': 'wp-1', 'tinyforge.role': 'web' });
      expect(byName.get(`le-exited-${token}`)!.state).to.equal('exited');
      expect(byName.get(`le-created-${token}`)!.state).to.equal('created');
      expect(byName.get(`le-created-${token}`)!.labels['tinyforge.role']).to.have.length(3000);
    });
  }
});
