/** One benchmark's result, rendered into its own section of docs/benchmarks.md. */
export interface BenchReport {
  readonly name: string;
  readonly title: string;
  readonly rows: readonly BenchRow[];
  readonly notes: readonly string[];
}

export interface BenchRow {
  readonly metric: string;
  readonly value: string;
  readonly baseline?: string;
  readonly ratio?: number;
  readonly target?: string;
  readonly pass?: boolean;
}

export interface BenchOptions {
  /** Smaller sizes for a smoke run (`--quick`). */
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

export type Scenario = (opts: BenchOptions) => Promise<BenchReport>;

/** Percentile of an ascending-sorted array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const fmt = {
  rate: (perSec: number) => `${Math.round(perSec).toLocaleString("en-US")}/s`,
  ms: (ms: number) => `${ms < 1 ? ms.toFixed(3) : ms.toFixed(2)} ms`,
  ratio: (r: number) => `${r.toFixed(2)}×`,
};
