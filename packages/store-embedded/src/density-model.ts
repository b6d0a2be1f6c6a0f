/**
 * A sampled density map used to size the first search radius of a kNN query. It is only a hint:
 * a stale or poor estimate costs extra index passes (or a larger first pass), never a wrong answer.
 *
 * The map counts a random sample of stored cells per quadtree cell at several levels; for a query
 * it takes the finest level with enough samples around the point, turns the count into a density
 * (places per m²), and solves π·ρ·(r² − inner²) = k for r.
 */
import { EARTH_RADIUS_M } from "@geomesh/geo";
import { CELL_ORDER, cellAtLevel, cellLatBounds, cellOf } from "./hilbert-cell.js";

const LEVELS = [3, 5, 7, 9, 11, 13, 15] as const;
/** Samples a cell needs before its density is trusted (≈ 35 % relative error, ≈ 18 % on a radius). */
const MIN_SAMPLES = 8;
const DEG = Math.PI / 180;
const HALF_CIRCUMFERENCE = Math.PI * EARTH_RADIUS_M;

/** Number of cells sampled per refresh. */
export const DENSITY_SAMPLE_SIZE = 4096;

/** Positions of a random sample of stored places, and the total they represent. */
export interface DensitySample {
  readonly points: readonly (readonly [number, number])[];
  readonly total: number;
}

/** Density estimate from a sample of stored cells. */
export class DensityModel {
  private readonly counts = new Map<number, Map<number, number>>();
  private points: readonly (readonly [number, number])[] = [];
  private total = 0;

  /** Replaces the sample. */
  load(sample: DensitySample): void {
    this.counts.clear();
    for (const level of LEVELS) this.counts.set(level, new Map());
    const shifts = LEVELS.map((level) => 4 ** (CELL_ORDER - level));
    for (const [lng, lat] of sample.points) {
      const cell = cellOf(lng, lat);
      LEVELS.forEach((level, i) => {
        const map = this.counts.get(level)!;
        const key = Math.floor(cell / shifts[i]!);
        map.set(key, (map.get(key) ?? 0) + 1);
      });
    }
    this.points = sample.points;
    this.total = sample.total;
  }

  /** Places the model believes the store holds. */
  get size(): number {
    return this.total;
  }

  /**
   * A radius (metres) expected to hold about `k` places farther than `inner` from `point`, with
   * some headroom; falls back to the global density where the sample says nothing.
   */
  radius(point: readonly [number, number], k: number, inner: number): number {
    const [lng, lat] = point;
    let density = 0;
    if (this.points.length > 0 && this.total > 0) {
      const perSample = this.total / this.points.length;
      for (let i = LEVELS.length - 1; i >= 0; i--) {
        const level = LEVELS[i]!;
        const n = this.counts.get(level)?.get(cellAtLevel(lng, lat, level)) ?? 0;
        if (n >= MIN_SAMPLES || (i === 0 && n > 0)) {
          const [south, north] = cellLatBounds(lat, level);
          const area =
            EARTH_RADIUS_M *
            EARTH_RADIUS_M *
            ((360 / 2 ** level) * DEG) *
            Math.abs(Math.sin(north * DEG) - Math.sin(south * DEG));
          density = (n * perSample) / Math.max(area, 1);
          break;
        }
      }
      if (density === 0) density = this.total / (4 * Math.PI * EARTH_RADIUS_M * EARTH_RADIUS_M);
    }
    if (density <= 0) return Math.min(HALF_CIRCUMFERENCE, inner + 100_000);
    const r = Math.sqrt(inner * inner + (1.4 * k) / (Math.PI * density));
    return Math.min(HALF_CIRCUMFERENCE, Math.max(r, inner + 1));
  }

  /** Estimated fraction (0..1) of stored places that satisfy `inside`, from the sample; 1 when unknown. */
  fraction(inside: (lng: number, lat: number) => boolean): number {
    if (this.points.length === 0) return 1;
    let n = 0;
    for (const [lng, lat] of this.points) if (inside(lng, lat)) n++;
    return n / this.points.length;
  }
}
