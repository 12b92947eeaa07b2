/** Where the benchmark runs from and writes to, and its progress log (stderr). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench: the compiled benchmark modules (the children are started from here). */
export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
/** Logs of the children, profiles, the raw figures of the last run. */
export const tmpDir = path.join(repoRoot, '.tmp', 'bench');

export const log = (s: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};
