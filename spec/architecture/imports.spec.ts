/**
 * The import graph of src/ points down the layers (docs/architecture.md, under "Pipeline"). Every import
 * statement of every src/**\/*.ts (type-only imports, re-exports and dynamic imports included) is
 * read with TypeScript's own pre-processor and checked; a failure lists every violation with its
 * file and import, so one run shows all that is left to fix.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const srcRoot = join(repoRoot, 'src');

/**
 * The layers, lowest first. A module may import modules of its own layer or of layers below.
 * The first layer is ordered inside too: each unit may import only the units before it (and its
 * own files): `src/domain` imports nothing outside itself, `src/log.ts` may import the config.
 */
export const LAYERS: ReadonlyArray<{ name: string; units: readonly string[] }> = [
  { name: 'model and basics', units: ['src/domain/', 'src/util/', 'src/version.ts', 'src/database-url.ts', 'src/config.ts', 'src/log.ts'] },
  {
    name: 'parts',
    units: ['src/queue/', 'src/cache/', 'src/docker/', 'src/store/', 'src/refusals/', 'src/leader/', 'src/status/', 'src/proxy/', 'src/metrics.ts', 'src/health.ts'],
  },
  { name: 'reconcile loop', units: ['src/controller/', 'src/handlers/', 'src/resync/'] },
  { name: 'http', units: ['src/http/'] },
  { name: 'composition', units: ['src/app/', 'src/main.ts', 'src/explain.ts', 'src/cli.ts'] },
];

/** Entry points: nothing imports them. */
const ENTRY_POINTS = ['src/cli.ts'];

/** Packages that only one folder may import (STYLE.md: Docker and TypeORM stay at the edges). */
const EDGE_PACKAGES: Readonly<Record<string, string>> = {
  typeorm: 'src/store/',
  'better-sqlite3': 'src/store/',
  mysql2: 'src/store/',
  dockerode: 'src/docker/',
};

export interface Edge {
  /** Importing file, relative to the repository (`src/...`). */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** The imported file (`src/...ts`) for relative imports; undefined for packages. */
  to: string | undefined;
}

interface Place {
  layer: number;
  /** Position of the unit in its layer (ordered only in the first layer). */
  rank: number;
  unit: string;
}

export function placeOf(file: string): Place | undefined {
  for (let layer = 0; layer < LAYERS.length; layer++) {
    const units = LAYERS[layer]!.units;
    for (let rank = 0; rank < units.length; rank++) {
      const unit = units[rank]!;
      if (unit.endsWith('/') ? file.startsWith(unit) : file === unit) return { layer, rank, unit };
    }
  }
  return undefined;
}

/** Why `edge` breaks the layering, or undefined when it is allowed. */
export function layerViolation(edge: Edge): string | undefined {
  if (edge.to === undefined) return undefined;
  const from = placeOf(edge.from);
  const to = placeOf(edge.to);
  if (!from) return `${edge.from} belongs to no layer (add it to LAYERS)`;
  if (!to) return `${edge.from} imports ${edge.specifier}: ${edge.to} belongs to no layer (add it to LAYERS)`;
  if (from.unit === to.unit) return undefined;
  const up = to.layer > from.layer || (to.layer === 0 && from.layer === 0 && to.rank > from.rank);
  if (!up) return undefined;
  return `${edge.from} imports ${edge.specifier} (${to.unit}, layer "${LAYERS[to.layer]!.name}"), above its own ${from.unit} (layer "${LAYERS[from.layer]!.name}")`;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Every import of every file under src/. */
export function importGraph(): Edge[] {
  const edges: Edge[] = [];
  for (const full of sourceFiles(srcRoot)) {
    const from = relative(repoRoot, full).split('\\').join('/');
    const info = ts.preProcessFile(readFileSync(full, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      const specifier = ref.fileName;
      const to = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts') : undefined;
      edges.push({ from, specifier, to });
    }
  }
  return edges;
}

/** The package an import names (`typeorm` for `typeorm/driver/...`, `@scope/pkg` for scoped ones). */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function report(violations: string[]): string {
  return `${violations.length} import(s) break the layering:\n  ${violations.join('\n  ')}`;
}

describe('architecture: imports point down the layers', () => {
  const edges = importGraph();

  it('reads the real graph (the check below cannot pass on an empty one)', () => {
    expect(new Set(edges.map((e) => e.from)).size, 'files under src/').to.be.greaterThan(50);
    expect(edges).to.deep.include({ from: 'src/domain/decide.ts', specifier: './dispatch.js', to: 'src/domain/dispatch.ts' });
    // The rule itself: an upward import is caught, a downward one is not.
    expect(layerViolation({ from: 'src/store/x.ts', specifier: '../controller/y.js', to: 'src/controller/y.ts' })).to.be.a('string');
    expect(layerViolation({ from: 'src/domain/x.ts', specifier: '../util/y.js', to: 'src/util/y.ts' })).to.be.a('string');
    expect(layerViolation({ from: 'src/log.ts', specifier: './config.js', to: 'src/config.ts' })).to.equal(undefined);
    expect(layerViolation({ from: 'src/controller/x.ts', specifier: '../store/y.js', to: 'src/store/y.ts' })).to.equal(undefined);
  });

  it('every file of src/ belongs to a layer, and every relative import names a file that exists', () => {
    const files = new Set(edges.map((e) => e.from));
    for (const f of sourceFiles(srcRoot)) files.add(relative(repoRoot, f).split('\\').join('/'));
    const problems = [...files].filter((f) => !placeOf(f)).map((f) => `${f} belongs to no layer (add it to LAYERS)`);
    for (const e of edges) if (e.to !== undefined && !files.has(e.to)) problems.push(`${e.from} imports ${e.specifier}: no such file ${e.to}`);
    expect(problems, problems.join('\n  ')).to.deep.equal([]);
  });

  it('no import points to a higher layer (src/domain imports only src/domain; nothing below the reconcile loop imports controller, handlers, resync or http)', () => {
    const violations = edges.map(layerViolation).filter((v): v is string => v !== undefined);
    expect(violations, report(violations)).to.deep.equal([]);
  });

  it('src/domain imports no package and no Node module: it is plain data and pure functions', () => {
    const violations = edges.filter((e) => e.from.startsWith('src/domain/') && e.to === undefined).map((e) => `${e.from} imports ${e.specifier}`);
    expect(violations, report(violations)).to.deep.equal([]);
  });

  it('nothing imports an entry point (src/cli.ts)', () => {
    const violations = edges.filter((e) => e.to !== undefined && ENTRY_POINTS.includes(e.to)).map((e) => `${e.from} imports ${e.specifier}`);
    expect(violations, report(violations)).to.deep.equal([]);
  });

  it('TypeORM and the database drivers are imported only in src/store, dockerode only in src/docker', () => {
    const violations = edges
      .filter((e) => e.to === undefined)
      .filter((e) => {
        const home = EDGE_PACKAGES[packageName(e.specifier)];
        return home !== undefined && !e.from.startsWith(home);
      })
      .map((e) => `${e.from} imports ${e.specifier} (only ${EDGE_PACKAGES[packageName(e.specifier)]} may)`);
    expect(violations, report(violations)).to.deep.equal([]);
  });
});
