/**
 * Geometry prepared for many point tests: each ring or line becomes a bounding-volume tree of
 * spherical caps over its consecutive edges. A subtree whose cap excludes the query point (and
 * its antipode) contributes its whole winding angle with a single atan2, and distance searches
 * prune subtrees by cap distance, so tests against large polygons (region borders, 10 000-vertex
 * query polygons) cost O(log n) edges instead of O(n). Semantics equal the plain functions in
 * `spherical.ts` (geodesic edges, boundary inclusive), which the tests check.
 */
import type { IntersectsGeometry, LngLat } from "./model.js";
import { BOUNDARY_TOLERANCE_RAD, polygonsOf, prepareRing, sweptAngle } from "./spherical.js";
import { angle, arcsCross, distanceToArc, dot, toVec3, type Vec3 } from "./vector3.js";

const TOL = BOUNDARY_TOLERANCE_RAD;
/** Caps are grown by this much before deciding a point is outside them (float safety). */
const MARGIN = 4 * TOL;
const LEAF_EDGES = 8;
const TWO_PI = 2 * Math.PI;

/** Squared chord between unit vectors: monotonic in their angle and precise for small angles. */
export function chordSq(a: Vec3, b: Vec3): number {
  const x = a[0] - b[0];
  const y = a[1] - b[1];
  const z = a[2] - b[2];
  return x * x + y * y + z * z;
}

/** Squared chord of an angle (radians), saturating at the antipode. */
export function chordSqOfAngle(theta: number): number {
  if (theta >= Math.PI) return 4;
  const c = 2 * Math.sin(Math.max(0, theta) / 2);
  return c * c;
}

/** A spherical cap: centre and angular radius. */
export interface Cap {
  readonly center: Vec3;
  readonly radius: number;
}

interface Node {
  readonly center: Vec3;
  readonly radius: number;
  /** chord² beyond which a point is outside the cap (grown by MARGIN). */
  readonly outSq: number;
  /** chord² below which the point's antipode is also outside (0 when the cap is too big for that shortcut). */
  readonly antiSq: number;
  readonly lo: number;
  readonly hi: number;
  readonly left: Node | undefined;
  readonly right: Node | undefined;
}

/** A chain of geodesic edges (a closed ring or an open line) with a cap tree over it. */
export class EdgeTree {
  readonly vertices: readonly Vec3[];
  readonly closed: boolean;
  readonly edgeCount: number;
  readonly root: Node;
  /** Edges examined individually so far (a work counter for budget tests). */
  edgeTests = 0;
  private readonly lengths: Float64Array;

  constructor(vertices: readonly Vec3[], closed: boolean) {
    this.vertices = vertices;
    this.closed = closed;
    const n = vertices.length;
    this.edgeCount = closed ? n : Math.max(0, n - 1);
    this.lengths = new Float64Array(this.edgeCount);
    for (let e = 0; e < this.edgeCount; e++)
      this.lengths[e] = angle(this.vertex(e), this.vertex(e + 1));
    this.root = this.build(0, this.edgeCount);
  }

  /** Vertex i (wrapping for rings). */
  vertex(i: number): Vec3 {
    return this.vertices[i % this.vertices.length]!;
  }

  private build(lo: number, hi: number): Node {
    let sx = 0;
    let sy = 0;
    let sz = 0;
    for (let i = lo; i <= hi && this.vertices.length > 0; i++) {
      const v = this.vertex(i);
      sx += v[0];
      sy += v[1];
      sz += v[2];
    }
    const len = Math.hypot(sx, sy, sz);
    let center: Vec3;
    let radius: number;
    if (len < 1e-9 || this.vertices.length === 0) {
      center = this.vertices.length === 0 ? [1, 0, 0] : this.vertex(lo);
      radius = Math.PI;
    } else {
      center = [sx / len, sy / len, sz / len];
      radius = 0;
      if (hi === lo) radius = angle(center, this.vertex(lo));
      for (let e = lo; e < hi; e++) {
        // Every point of the arc is within (|ca| + |cb| + |ab|) / 2 of the centre (triangle inequality).
        const r =
          (angle(center, this.vertex(e)) + angle(center, this.vertex(e + 1)) + this.lengths[e]!) /
          2;
        if (r > radius) radius = r;
      }
    }
    const reach = radius + MARGIN;
    const outSq = chordSqOfAngle(reach);
    const antiSq = reach < Math.PI / 2 ? chordSqOfAngle(Math.PI - reach) : 0;
    let left: Node | undefined;
    let right: Node | undefined;
    if (hi - lo > LEAF_EDGES) {
      const mid = (lo + hi) >> 1;
      left = this.build(lo, mid);
      right = this.build(mid, hi);
    }
    return { center, radius, outSq, antiSq, lo, hi, left, right };
  }

  /** The cap containing every edge. */
  get cap(): Cap {
    return { center: this.root.center, radius: this.root.radius };
  }

  /**
   * Winding angle (radians) of the chain as seen from `p`; sets `state.boundary` when `p` is within
   * the boundary tolerance of an edge.
   */
  windingSum(p: Vec3, state: { boundary: boolean }): number {
    const walk = (node: Node): number => {
      const d2 = chordSq(p, node.center);
      if (d2 > node.outSq && d2 < node.antiSq)
        return sweptAngle(p, this.vertex(node.lo), this.vertex(node.hi));
      if (node.left !== undefined && node.right !== undefined)
        return walk(node.left) + walk(node.right);
      let sum = 0;
      for (let e = node.lo; e < node.hi; e++) {
        this.edgeTests++;
        const a = this.vertex(e);
        const b = this.vertex(e + 1);
        const theta = sweptAngle(p, a, b);
        if (
          Math.abs(theta) > Math.PI / 2 ||
          chordSq(p, a) <= 4 * TOL * TOL ||
          chordSq(p, b) <= 4 * TOL * TOL
        ) {
          if (distanceToArc(p, a, b) <= TOL) state.boundary = true;
        }
        sum += theta;
      }
      return sum;
    };
    return walk(this.root);
  }

  /** Angular distance from `p` to the nearest edge, or `cutoff` if none is nearer than `cutoff`. */
  distance(p: Vec3, cutoff = Math.PI): number {
    let best = cutoff;
    const visit = (node: Node): void => {
      if (chordSq(p, node.center) >= chordSqOfAngle(node.radius + best + 1e-12)) return;
      if (node.left !== undefined && node.right !== undefined) {
        const [first, second] =
          chordSq(p, node.left.center) <= chordSq(p, node.right.center)
            ? [node.left, node.right]
            : [node.right, node.left];
        visit(first);
        visit(second);
        return;
      }
      for (let e = node.lo; e < node.hi; e++) {
        this.edgeTests++;
        const d = distanceToArc(p, this.vertex(e), this.vertex(e + 1));
        if (d < best) best = d;
      }
      if (this.edgeCount === 0 && this.vertices.length > 0)
        best = Math.min(best, angle(p, this.vertices[0]!));
    };
    visit(this.root);
    return best;
  }

  /** Whether some edge of `a` comes within `d` radians of some edge of `b` (crossing counts as 0). */
  static within(a: EdgeTree, b: EdgeTree, d: number): boolean {
    const visit = (x: Node, y: Node): boolean => {
      if (chordSq(x.center, y.center) > chordSqOfAngle(x.radius + y.radius + d + 1e-12))
        return false;
      const xLeaf = x.left === undefined;
      const yLeaf = y.left === undefined;
      if (!xLeaf && (yLeaf || x.radius >= y.radius)) return visit(x.left, y) || visit(x.right!, y);
      if (!yLeaf) return visit(x, y.left) || visit(x, y.right!);
      for (let i = x.lo; i < Math.max(x.hi, x.lo + (a.edgeCount === 0 ? 1 : 0)); i++) {
        const p1 = a.vertex(i);
        const p2 = a.edgeCount === 0 ? p1 : a.vertex(i + 1);
        for (let j = y.lo; j < Math.max(y.hi, y.lo + (b.edgeCount === 0 ? 1 : 0)); j++) {
          const q1 = b.vertex(j);
          const q2 = b.edgeCount === 0 ? q1 : b.vertex(j + 1);
          if (arcsDistance(p1, p2, q1, q2) <= d) return true;
        }
      }
      return false;
    };
    return visit(a.root, b.root);
  }
}

/** Distance between two minor arcs: 0 when they cross or touch, else the nearest endpoint-to-arc distance. */
export function arcsDistance(a: Vec3, b: Vec3, c: Vec3, d: Vec3): number {
  if (arcsCross(a, b, c, d) === true) return 0;
  return Math.min(
    distanceToArc(a, c, d),
    distanceToArc(b, c, d),
    distanceToArc(c, a, b),
    distanceToArc(d, a, b),
  );
}

interface RingTree {
  readonly tree: EdgeTree;
  readonly centroid: Vec3;
}

function ringTree(ring: readonly LngLat[]): RingTree {
  const prepared = prepareRing(ring);
  return { tree: new EdgeTree(prepared.vertices, true), centroid: prepared.centroid };
}

function relation(ring: RingTree, p: Vec3): "in" | "out" | "boundary" {
  const root = ring.tree.root;
  if (chordSq(p, root.center) > root.outSq) return "out";
  const state = { boundary: false };
  const sum = ring.tree.windingSum(p, state);
  if (state.boundary) return "boundary";
  return Math.round(sum / TWO_PI) !== 0 && dot(p, ring.centroid) > 0 ? "in" : "out";
}

/** One polygon (shell and holes) prepared for containment and distance tests. */
export class PreparedPolygon {
  readonly shell: RingTree;
  readonly holes: readonly RingTree[];

  constructor(rings: readonly LngLat[][]) {
    const trees = rings.map(ringTree);
    this.shell = trees[0] ?? ringTree([]);
    this.holes = trees.slice(1);
  }

  /** Cap containing the whole polygon (its shell's cap). */
  get cap(): Cap {
    return this.shell.tree.cap;
  }

  /** Inside or on the boundary (geodesic edges). */
  contains(p: Vec3): boolean {
    const r = relation(this.shell, p);
    if (r !== "in") return r === "boundary";
    for (const hole of this.holes) {
      const h = relation(hole, p);
      if (h === "in") return false;
      if (h === "boundary") return true;
    }
    return true;
  }

  /** Angular distance to the nearest edge of any ring (or `cutoff`). */
  boundaryDistance(p: Vec3, cutoff = Math.PI): number {
    let best = this.shell.tree.distance(p, cutoff);
    for (const hole of this.holes) best = hole.tree.distance(p, best);
    return best;
  }

  /** Every ring's edge tree. */
  get trees(): EdgeTree[] {
    return [this.shell.tree, ...this.holes.map((h) => h.tree)];
  }

  /** Total individually examined edges (work counter). */
  get edgeTests(): number {
    return this.trees.reduce((n, t) => n + t.edgeTests, 0);
  }
}

/**
 * Any supported geometry prepared for repeated tests: `intersects` (as `$geoIntersects`),
 * `distance`, and `near` (is another prepared geometry within a distance).
 */
export class PreparedGeometry {
  readonly polygons: readonly PreparedPolygon[];
  readonly lines: readonly EdgeTree[];
  readonly points: readonly Vec3[];

  constructor(geometry: IntersectsGeometry) {
    const polygons: PreparedPolygon[] = [];
    const lines: EdgeTree[] = [];
    const points: Vec3[] = [];
    switch (geometry.type) {
      case "Point":
        points.push(toVec3(geometry.coordinates as LngLat));
        break;
      case "MultiPoint":
        for (const p of geometry.coordinates) points.push(toVec3(p as LngLat));
        break;
      case "LineString":
        lines.push(lineTree(geometry.coordinates as LngLat[]));
        break;
      case "MultiLineString":
        for (const l of geometry.coordinates) lines.push(lineTree(l as LngLat[]));
        break;
      case "Polygon":
      case "MultiPolygon":
        for (const rings of polygonsOf(geometry)) polygons.push(new PreparedPolygon(rings));
        break;
    }
    this.polygons = polygons;
    this.lines = lines;
    this.points = points;
  }

  /** Whether `point` intersects the geometry (boundaries inclusive, as `$geoIntersects` / `$geoWithin`). */
  intersects(point: LngLat | Vec3): boolean {
    const p = point.length === 3 ? point : toVec3(point);
    for (const poly of this.polygons) if (poly.contains(p)) return true;
    for (const line of this.lines) if (line.distance(p, TOL * 2) <= TOL) return true;
    for (const q of this.points) if (angle(p, q) <= TOL) return true;
    return false;
  }

  /** Angular distance (radians) from `point`: 0 when it intersects, else to the nearest edge/point (or `cutoff`). */
  distance(point: LngLat | Vec3, cutoff = Math.PI): number {
    const p = point.length === 3 ? point : toVec3(point);
    if (this.intersects(p)) return 0;
    let best = cutoff;
    for (const poly of this.polygons) best = poly.boundaryDistance(p, best);
    for (const line of this.lines) best = line.distance(p, best);
    for (const q of this.points) best = Math.min(best, angle(p, q));
    return best;
  }

  /** Every ring and line tree. */
  get trees(): EdgeTree[] {
    return [...this.polygons.flatMap((p) => p.trees), ...this.lines];
  }

  /** One vertex per component: enough, with edge distances, to decide overlap. */
  private representatives(): Vec3[] {
    const reps: Vec3[] = [...this.points];
    for (const line of this.lines) if (line.vertices.length > 0) reps.push(line.vertices[0]!);
    for (const poly of this.polygons)
      if (poly.shell.tree.vertices.length > 0) reps.push(poly.shell.tree.vertices[0]!);
    return reps;
  }

  /**
   * Whether the two geometries come within `d` radians of each other (overlap counts as 0):
   * a component of one inside (or near) the other, or two edges within `d`.
   */
  near(other: PreparedGeometry, d: number): boolean {
    for (const v of this.representatives()) if (other.distance(v, d + 1e-12) <= d) return true;
    for (const v of other.representatives()) if (this.distance(v, d + 1e-12) <= d) return true;
    const mine = this.trees;
    const theirs = other.trees;
    for (const a of mine) for (const b of theirs) if (EdgeTree.within(a, b, d)) return true;
    return false;
  }
}

function lineTree(line: readonly LngLat[]): EdgeTree {
  const vs: Vec3[] = [];
  let last: LngLat | undefined;
  for (const p of line) {
    if (last !== undefined && last[0] === p[0] && last[1] === p[1]) continue;
    vs.push(toVec3(p));
    last = p;
  }
  return new EdgeTree(vs, false);
}

/** Prepares a geometry for fast repeated point tests (a store's `within`/`intersects` filter). */
export function prepareGeometry(geometry: IntersectsGeometry): PreparedGeometry {
  return new PreparedGeometry(geometry);
}
