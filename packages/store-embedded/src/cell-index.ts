/**
 * The in-memory twin of the `places_cell` index: every place's (Hilbert leaf key, lng, lat, pk),
 * sorted by key, for kNN without a round trip through SQLite's B-tree per query. The SQLite file
 * stays the source of truth — the store loads this from the file at open, applies its own writes
 * after they commit and other processes' writes from the outbox before it reads (see
 * `EmbeddedGeoStore`); this module only holds the points and searches them.
 *
 * Storage is a list of sorted chunks (at most `CHUNK` entries each, split when full): an insert or
 * delete moves at most one chunk's entries, a key's rank is two binary searches.
 *
 * Search is best-first over the Hilbert quadtree the keys already encode: a node at level L is the
 * grid cell (x, y) of a 2^L × 2^L lng/lat grid and holds one contiguous key range, so its entries
 * are a rank interval. Nodes wait in a priority queue under the exact spherical distance from the
 * query point to their lng/lat rectangle (a lower bound for every entry inside); a node holding at
 * most `LEAF` entries yields them with their exact `distanceMeters`, so points come out of the
 * queue in increasing distance and the search stops as soon as the next item lies beyond the
 * k-th hit.
 */
import {
  circleBounds,
  DistanceFrom,
  distanceMeters,
  EARTH_RADIUS_M,
  type Box,
  type LngLat,
} from "@geomesh/geo";
import {
  CELL_ORDER,
  cellOf,
  gridIndex,
  hilbertIndex,
  latFraction,
  lngFraction,
} from "./hilbert-cell.js";

/** The search starts from at most this many cells covering the first bound's cap. */
const SEED_CELLS = 9;
/** Entries per chunk at most. */
const CHUNK = 1024;
/** A node with at most this many entries is searched point by point. */
const LEAF = 24;
const RAD = Math.PI / 180;
const LEAF_SPAN = 4 ** CELL_ORDER;

interface Chunk {
  n: number;
  readonly keys: Float64Array;
  readonly lng: Float64Array;
  readonly lat: Float64Array;
  readonly pk: Float64Array;
}

function newChunk(): Chunk {
  return {
    n: 0,
    keys: new Float64Array(CHUNK),
    lng: new Float64Array(CHUNK),
    lat: new Float64Array(CHUNK),
    pk: new Float64Array(CHUNK),
  };
}

/** First index in `a[0..n)` with a[i] ≥ key. */
function lowerBound(a: Float64Array, n: number, key: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Longitude difference folded into [0, 180]. */
function lngGap(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}

/**
 * The least distance from a point to a meridian segment (lng `edge`, lat in [s, n]): on the
 * meridian's great circle cos(d) = C·cos(φ' − φ0), so the nearest latitude of the segment is φ0
 * clamped when φ0 lies on the half circle, else one of the segment's ends.
 */
function meridianDistance(lng: number, lat: number, edge: number, s: number, n: number): number {
  const dl = lngGap(lng, edge) * RAD;
  const phi = lat * RAD;
  const phi0 = Math.atan2(Math.sin(phi), Math.cos(phi) * Math.cos(dl)) / RAD;
  const p: LngLat = [lng, lat];
  let best = Math.min(distanceMeters(p, [edge, s]), distanceMeters(p, [edge, n]));
  if (phi0 > s && phi0 < n) best = Math.min(best, distanceMeters(p, [edge, phi0]));
  return best;
}

/**
 * The least great-circle distance from a point to a lng/lat rectangle (w ≤ e, degrees), shrunk by
 * a hair so float noise can only make it smaller: a lower bound for every point inside.
 */
export function rectDistanceLowerBound(
  lng: number,
  lat: number,
  w: number,
  e: number,
  s: number,
  n: number,
): number {
  let d: number;
  if (lng >= w && lng <= e) {
    d = lat < s ? (s - lat) * RAD * EARTH_RADIUS_M : lat > n ? (lat - n) * RAD * EARTH_RADIUS_M : 0;
  } else {
    d = Math.min(meridianDistance(lng, lat, w, s, n), meridianDistance(lng, lat, e, s, n));
  }
  return d * (1 - 1e-9) - 1e-6;
}

/**
 * A binary min-heap of search items on parallel arrays: nodes (level ≥ 0, grid x, y, rank range)
 * and points (level −1, pk in `x`, lng in `y`, lat in `from`), keyed by distance.
 */
class SearchHeap {
  size = 0;
  private cap = 256;
  private d = new Float64Array(this.cap);
  private level = new Int8Array(this.cap);
  private x = new Float64Array(this.cap);
  private y = new Float64Array(this.cap);
  private from = new Float64Array(this.cap);
  private to = new Float64Array(this.cap);

  clear(): void {
    this.size = 0;
  }

  private grow(): void {
    this.cap *= 2;
    const copy = <T extends Float64Array | Int8Array>(a: T, make: (n: number) => T): T => {
      const b = make(this.cap);
      b.set(a);
      return b;
    };
    this.d = copy(this.d, (n) => new Float64Array(n));
    this.level = copy(this.level, (n) => new Int8Array(n));
    this.x = copy(this.x, (n) => new Float64Array(n));
    this.y = copy(this.y, (n) => new Float64Array(n));
    this.from = copy(this.from, (n) => new Float64Array(n));
    this.to = copy(this.to, (n) => new Float64Array(n));
  }

  push(d: number, level: number, x: number, y: number, from: number, to: number): void {
    if (this.size === this.cap) this.grow();
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.d[parent]! <= d) break;
      this.move(parent, i);
      i = parent;
    }
    this.d[i] = d;
    this.level[i] = level;
    this.x[i] = x;
    this.y[i] = y;
    this.from[i] = from;
    this.to[i] = to;
  }

  private move(from: number, to: number): void {
    this.d[to] = this.d[from]!;
    this.level[to] = this.level[from]!;
    this.x[to] = this.x[from]!;
    this.y[to] = this.y[from]!;
    this.from[to] = this.from[from]!;
    this.to[to] = this.to[from]!;
  }

  topDistance(): number {
    return this.d[0]!;
  }

  /** Removes the smallest item into `out` (d, level, x, y, from, to). */
  pop(out: Float64Array): void {
    out[0] = this.d[0]!;
    out[1] = this.level[0]!;
    out[2] = this.x[0]!;
    out[3] = this.y[0]!;
    out[4] = this.from[0]!;
    out[5] = this.to[0]!;
    const last = --this.size;
    if (last === 0) return;
    const d = this.d[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.d[r]! < this.d[l]! ? r : l;
      if (this.d[c]! >= d) break;
      this.move(c, i);
      i = c;
    }
    this.move(last, i);
  }
}

/** A hit of the search: the row's pk, its exact distance from the query point and its position. */
export interface IndexHit {
  readonly pk: number;
  readonly d: number;
  readonly lng: number;
  readonly lat: number;
}

/** Options of `CellIndex.nearest`. */
export interface NearestOptions {
  /** How many hits (more when places tie with the last one). */
  readonly need: number;
  /** Hits closer than this are skipped (minDistance / a cursor's distance). */
  readonly lower: number;
  /** Hits farther than this are never returned. */
  readonly upper: number;
  /**
   * Further test on a hit in range — a cursor's tie-break, so it may reject only hits at exactly
   * `lower` (the search bounds the answer with the hits beyond it); false skips the hit.
   */
  readonly accept?: (pk: number, d: number) => boolean;
}

/** Sorted (key, lng, lat, pk) entries with best-first kNN; see the module comment. */
export class CellIndex {
  private chunks: Chunk[] = [newChunk()];
  /** Global rank of each chunk's first entry, and each chunk's first key; valid when `ranksValid`. */
  private starts = new Float64Array(1);
  private firstKeys = new Float64Array(1);
  private ranksValid = true;
  private count = 0;
  private readonly heap = new SearchHeap();
  private readonly item = new Float64Array(6);
  /** A search's distances, pks and positions of one run of entries (see `distances`). */
  private scratchD = new Float64Array(64);
  private scratchPk = new Float64Array(64);
  private scratchLng = new Float64Array(64);
  private scratchLat = new Float64Array(64);
  /** The cells a seeding queued. */
  private seen = new Float64Array(16);
  /** Work counter for tests and benchmarks: entries whose distance a search computed. */
  pointsVisited = 0;

  get size(): number {
    return this.count;
  }

  /** Empties the index. */
  clear(): void {
    this.chunks = [newChunk()];
    this.count = 0;
    this.ranksValid = false;
  }

  /**
   * Replaces the contents with entries given in key order (as a `cell`-ordered scan returns them);
   * entries out of order are inserted one by one.
   */
  load(entries: Iterable<readonly [key: number, lng: number, lat: number, pk: number]>): void {
    this.clear();
    const chunks: Chunk[] = [];
    let current = newChunk();
    let lastKey = -Infinity;
    const late: (readonly [number, number, number, number])[] = [];
    const fill = CHUNK * 0.75;
    for (const entry of entries) {
      const [key, lng, lat, pk] = entry;
      if (key < lastKey) {
        late.push(entry);
        continue;
      }
      lastKey = key;
      if (current.n >= fill) {
        chunks.push(current);
        current = newChunk();
      }
      const i = current.n++;
      current.keys[i] = key;
      current.lng[i] = lng;
      current.lat[i] = lat;
      current.pk[i] = pk;
      this.count += 1;
    }
    chunks.push(current);
    this.chunks = chunks;
    this.ranksValid = false;
    for (const [key, lng, lat, pk] of late) this.insert(key, lng, lat, pk);
  }

  /** The last chunk whose first key is < `key` (0 if none), on the cached first keys. */
  private chunkBelow(key: number): number {
    const first = this.firstKeys;
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (first[mid]! < key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The chunk that holds (or would hold) `key`: the last chunk whose first key is ≤ key. */
  private chunkFor(key: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const c = this.chunks[mid]!;
      if (c.n > 0 && c.keys[0]! <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  insert(key: number, lng: number, lat: number, pk: number): void {
    const ci = this.chunkFor(key);
    let c = this.chunks[ci]!;
    if (c.n === CHUNK) {
      const right = newChunk();
      const half = CHUNK >> 1;
      right.keys.set(c.keys.subarray(half));
      right.lng.set(c.lng.subarray(half));
      right.lat.set(c.lat.subarray(half));
      right.pk.set(c.pk.subarray(half));
      right.n = CHUNK - half;
      c.n = half;
      this.chunks.splice(ci + 1, 0, right);
      if (key >= right.keys[0]!) c = right;
    }
    const at = lowerBound(c.keys, c.n, key);
    if (at < c.n) {
      c.keys.copyWithin(at + 1, at, c.n);
      c.lng.copyWithin(at + 1, at, c.n);
      c.lat.copyWithin(at + 1, at, c.n);
      c.pk.copyWithin(at + 1, at, c.n);
    }
    c.keys[at] = key;
    c.lng[at] = lng;
    c.lat[at] = lat;
    c.pk[at] = pk;
    c.n += 1;
    this.count += 1;
    this.ranksValid = false;
  }

  /** Removes the entry of `pk` at `key`; false when there is none. */
  remove(key: number, pk: number): boolean {
    // Entries with the same key may span chunk boundaries: walk from the first chunk that can hold it.
    let ci = this.chunkFor(key);
    while (ci > 0 && this.chunks[ci]!.keys[0] === key) ci -= 1;
    for (; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci]!;
      for (let i = lowerBound(c.keys, c.n, key); i < c.n && c.keys[i] === key; i++) {
        if (c.pk[i] !== pk) continue;
        c.keys.copyWithin(i, i + 1, c.n);
        c.lng.copyWithin(i, i + 1, c.n);
        c.lat.copyWithin(i, i + 1, c.n);
        c.pk.copyWithin(i, i + 1, c.n);
        c.n -= 1;
        this.count -= 1;
        if (c.n === 0 && this.chunks.length > 1) this.chunks.splice(ci, 1);
        this.ranksValid = false;
        return true;
      }
      if (c.n > 0 && c.keys[c.n - 1]! > key) return false;
    }
    return false;
  }

  private ranks(): Float64Array {
    if (!this.ranksValid) {
      if (this.starts.length < this.chunks.length + 1) {
        this.starts = new Float64Array(this.chunks.length * 2 + 1);
        this.firstKeys = new Float64Array(this.chunks.length * 2 + 1);
      }
      let r = 0;
      for (let i = 0; i < this.chunks.length; i++) {
        const c = this.chunks[i]!;
        this.starts[i] = r;
        // An empty chunk (only ever the single one of an empty index) sorts first.
        this.firstKeys[i] = c.n > 0 ? c.keys[0]! : -Infinity;
        r += c.n;
      }
      this.starts[this.chunks.length] = r;
      this.ranksValid = true;
    }
    return this.starts;
  }

  /** Global rank of the first entry with key ≥ `key` (while `ranksValid`). */
  private rank(key: number, starts: Float64Array): number {
    // The last chunk starting strictly below `key`: equal keys may begin in an earlier chunk
    // than the last one starting at `key`.
    const ci = this.chunkBelow(key);
    const c = this.chunks[ci]!;
    const at = lowerBound(c.keys, c.n, key);
    return starts[ci]! + at;
  }

  /**
   * The first rank in [from, to) whose key is ≥ `key` (`to` if none), searching only that
   * interval when it lies in one chunk — the common case below the top levels of a search.
   */
  private rankWithin(key: number, from: number, to: number, starts: Float64Array): number {
    const ci = this.chunkAtRank(from, starts);
    const base = starts[ci]!;
    if (to > starts[ci + 1]!) return Math.min(to, Math.max(from, this.rank(key, starts)));
    const keys = this.chunks[ci]!.keys;
    let lo = from - base;
    let hi = to - base;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return base + lo;
  }

  /**
   * An upper bound on the distance of the `need`-th entry at or beyond `lower`: the entries
   * next to the point's own key on the curve are real entries close by (Infinity when fewer
   * than `need` of them lie in [lower, upper]).
   */
  private curveBound(
    point: LngLat,
    from0: DistanceFrom,
    need: number,
    lower: number,
    upper: number,
    strict: boolean,
    starts: Float64Array,
  ): number {
    const at = this.rank(cellOf(point[0], point[1]), starts);
    const from = Math.max(0, at - need);
    const to = Math.min(this.count, at + need);
    const n = this.distances(from0, from, to, starts);
    const ds = this.scratchD;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const d = ds[i]!;
      if ((strict ? d > lower : d >= lower) && d <= upper) ds[kept++] = d;
    }
    if (kept < need) return Infinity;
    const sorted = ds.subarray(0, kept).sort();
    // A hair of slack so float noise never cuts off the bounding entry itself.
    return sorted[need - 1]! * (1 + 1e-12) + 1e-9;
  }

  /** The chunk index holding global rank `r` (r < size). */
  private chunkAtRank(r: number, starts: Float64Array): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= r) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The `need` entries nearest to `point` with a distance in [lower, upper] that `accept` takes,
   * plus every further one tied with the last, in increasing distance (ties in any order).
   */
  nearest(point: LngLat, options: NearestOptions): IndexHit[] {
    const { need, lower, upper, accept } = options;
    const hits: IndexHit[] = [];
    if (need <= 0 || this.count === 0) return hits;
    const [plng, plat] = point;
    const from0 = new DistanceFrom(point);
    const starts = this.ranks();
    const heap = this.heap;
    const item = this.item;
    heap.clear();
    // The curve's neighbours bound the answer before the search starts (counting only entries
    // beyond `lower` when a tie-break test may reject those at it), so the search starts from the
    // few cells covering that cap instead of the root.
    let bound = this.curveBound(point, from0, need, lower, upper, accept !== undefined, starts);
    if (bound === Infinity) heap.push(0, 0, 0, 0, 0, this.count);
    else this.seed(point, bound, starts);
    let cutoff = Infinity;
    while (heap.size > 0) {
      const top = heap.topDistance();
      if (top > upper || top > cutoff || top > bound) break;
      heap.pop(item);
      const level = item[1]!;
      if (level < 0) {
        const d = item[0]!;
        const pk = item[2]!;
        if (accept !== undefined && !accept(pk, d)) continue;
        hits.push({ pk, d, lng: item[3]!, lat: item[4]! });
        if (hits.length === need) {
          cutoff = d;
          bound = Infinity;
        }
        continue;
      }
      const from = item[4]!;
      const to = item[5]!;
      if (to - from <= LEAF || level === CELL_ORDER) {
        this.pushPoints(from0, from, to, lower, upper, Math.min(bound, cutoff), starts);
        continue;
      }
      const x = item[2]!;
      const y = item[3]!;
      const childLevel = level + 1;
      const size = 2 ** childLevel;
      const span = LEAF_SPAN / 4 ** childLevel;
      const lngStep = 360 / size;
      const latStep = 180 / size;
      for (let i = 0; i < 4; i++) {
        const cx = 2 * x + (i & 1);
        const cy = 2 * y + (i >> 1);
        const h = hilbertIndex(cx, cy, childLevel);
        const lo = this.rankWithin(h * span, from, to, starts);
        const hi = this.rankWithin((h + 1) * span, lo, to, starts);
        if (hi <= lo) continue;
        const w = cx * lngStep - 180;
        const s = cy * latStep - 90;
        const lb = rectDistanceLowerBound(plng, plat, w, w + lngStep, s, s + latStep);
        if (lb > upper || lb > cutoff || lb > bound) continue;
        heap.push(Math.max(0, lb), childLevel, cx, cy, lo, hi);
      }
    }
    return hits;
  }

  /**
   * Queues the grid cells of one level that cover the cap of radius `r` around the point: the
   * finest level at which its bounding rectangles touch at most `SEED_CELLS` cells, each cell
   * once (rectangles of one cap may share cells).
   */
  private seed(point: LngLat, r: number, starts: Float64Array): void {
    const boxes = circleBounds(point, r);
    // Start near the cap's own size, then coarsen until few enough cells cover it.
    let span = 0;
    for (const [[w, s], [e, n]] of boxes) span = Math.max(span, (e - w) / 360, (n - s) / 180);
    let level = Math.min(
      CELL_ORDER,
      Math.max(0, Math.floor(-Math.log2(Math.max(span, 2 ** -CELL_ORDER))) + 1),
    );
    while (level > 0 && cellsCovering(boxes, level) > SEED_CELLS) level -= 1;
    const size = 2 ** level;
    const span4 = LEAF_SPAN / 4 ** level;
    const lngStep = 360 / size;
    const latStep = 180 / size;
    // Rectangles of one cap may share cells: each cell once (a handful, so a short list).
    let seen = this.seen;
    let seenCount = 0;
    const [plng, plat] = point;
    for (const [[w, s], [e, n]] of boxes) {
      const x0 = gridIndex(lngFraction(w), size);
      const x1 = gridIndex(lngFraction(e), size);
      const y0 = gridIndex(latFraction(s), size);
      const y1 = gridIndex(latFraction(n), size);
      for (let x = x0; x <= x1; x++) {
        for (let y = y0; y <= y1; y++) {
          const h = hilbertIndex(x, y, level);
          if (holds(seen, seenCount, h)) continue;
          if (seenCount === seen.length) seen = this.seen = growCopy(seen);
          seen[seenCount++] = h;
          const lo = this.rank(h * span4, starts);
          const hi = this.rank((h + 1) * span4, starts);
          if (hi <= lo) continue;
          const cw = x * lngStep - 180;
          const cs = y * latStep - 90;
          const lb = rectDistanceLowerBound(plng, plat, cw, cw + lngStep, cs, cs + latStep);
          if (lb > r) continue;
          this.heap.push(Math.max(0, lb), level, x, y, lo, hi);
        }
      }
    }
  }

  private pushPoints(
    from0: DistanceFrom,
    from: number,
    to: number,
    lower: number,
    upper: number,
    bound: number,
    starts: Float64Array,
  ): void {
    const n = this.distances(from0, from, to, starts);
    this.pointsVisited += n;
    const { scratchD: ds, scratchPk: pks, scratchLng: lngs, scratchLat: lats } = this;
    for (let i = 0; i < n; i++) {
      const d = ds[i]!;
      if (d >= lower && d <= upper && d <= bound)
        this.heap.push(d, -1, pks[i]!, lngs[i]!, lats[i]!, 0);
    }
  }

  /**
   * The exact distance from the origin, the pk and the position of each entry of ranks
   * [from, to), into the scratch arrays (grown as needed); returns how many.
   */
  private distances(from0: DistanceFrom, from: number, to: number, starts: Float64Array): number {
    const n = to - from;
    if (n > this.scratchD.length) {
      const cap = Math.max(n, 2 * this.scratchD.length);
      this.scratchD = new Float64Array(cap);
      this.scratchPk = new Float64Array(cap);
      this.scratchLng = new Float64Array(cap);
      this.scratchLat = new Float64Array(cap);
    }
    const { scratchD: ds, scratchPk: pks, scratchLng: lngs, scratchLat: lats } = this;
    let ci = this.chunkAtRank(from, starts);
    let c = this.chunks[ci]!;
    let i = from - starts[ci]!;
    for (let k = 0; k < n; k++) {
      while (i >= c.n) {
        ci += 1;
        i = 0;
        c = this.chunks[ci]!;
      }
      const lng = c.lng[i]!;
      const lat = c.lat[i]!;
      ds[k] = from0.meters(lng, lat);
      pks[k] = c.pk[i]!;
      lngs[k] = lng;
      lats[k] = lat;
      i += 1;
    }
    return n;
  }
}

/** How many grid cells of `level` the rectangles touch (a cell shared by two counted twice). */
function cellsCovering(boxes: readonly Box[], level: number): number {
  const size = 2 ** level;
  let total = 0;
  for (const [[w, s], [e, n]] of boxes) {
    const x0 = gridIndex(lngFraction(w), size);
    const x1 = gridIndex(lngFraction(e), size);
    const y0 = gridIndex(latFraction(s), size);
    const y1 = gridIndex(latFraction(n), size);
    total += (x1 - x0 + 1) * (y1 - y0 + 1);
  }
  return total;
}

/** Whether `a[0..n)` holds `v`. */
function holds(a: Float64Array, n: number, v: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] === v) return true;
  return false;
}

function growCopy(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const b = new Float64Array(2 * a.length);
  b.set(a);
  return b;
}
