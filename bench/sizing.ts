/**
 * The memory limit the chart's values table recommends per number of containers on a host
 * (charts/tinyforge-reconciler/README.md, "Sizing"), and the V8 heap limit the chart derives
 * from it (`heapPercent`, 60% by default: `--max-old-space-size`, templates/_helpers.tpl). The
 * benchmark runs the service with the flag the chart would give it, so its figures are those of
 * an install; `--no-heap-limit` measures V8's own sizing instead.
 */
export const SIZING: ReadonlyArray<{ upTo: number; memoryMi: number }> = [
  { upTo: 1_000, memoryMi: 160 },
  { upTo: 10_000, memoryMi: 224 },
  { upTo: 100_000, memoryMi: 448 },
];

/** The chart's default `heapPercent`. */
export const HEAP_PERCENT = 60;
/** The chart's default `semiSpaceMiB`. */
export const SEMI_SPACE_MIB = 4;

/** The recommended memory limit (MiB) for `n` containers: the first row that holds them, else the last. */
export function memoryLimitFor(n: number): number {
  return (SIZING.find((s) => n <= s.upTo) ?? SIZING[SIZING.length - 1]!).memoryMi;
}

/** The heap flag the chart sets for that limit (integer MiB, rounded down as the template does). */
export function heapFlagFor(n: number, percent = HEAP_PERCENT): string {
  return `--max-old-space-size=${Math.floor((memoryLimitFor(n) * percent) / 100)}`;
}

/** Every V8 flag the chart's defaults give an agent sized for `n` containers. */
export function chartNodeFlags(n: number): string[] {
  return [heapFlagFor(n), `--max-semi-space-size=${SEMI_SPACE_MIB}`];
}
