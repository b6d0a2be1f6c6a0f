/**
 * Store benchmark (DESIGN §9): synthetic population-weighted points (1M; `--quick` 100k) loaded
 * into an embedded SQLite store, then kNN (k = 10) at 1000 query points, against `geokdbush`
 * `around()` on a `kdbush` index of the same points, measured in the same run and interleaved
 * query by query so machine noise hits both alike.
 *
 * The store answers with full places (rows read from the file, JSON fields parsed) while
 * `around()` returns array indexes into memory; the store's own index phase (candidate rows and
 * spherical distances, no row fetch) is reported too, to show where the time goes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthetic } from "@geomesh/datasets";
import { distanceMeters, LIMITS, type LngLat, type PlaceInput } from "@geomesh/geo";
import { EmbeddedGeoStore } from "@geomesh/store-embedded";
import { around } from "geokdbush";
import KDBush from "kdbush";
import { type BenchOptions, type BenchReport, type BenchRow, fmt, percentile } from "./report.js";

const K = 10;
const QUERIES = 3000;
/**
 * Both searches reach their optimised tier only after a few thousand calls (ours runs ~20 % slower
 * over its first thousand), and a server's steady state is what counts; 3000 samples also steady
 * the p99 (1000 swung it 1.6–4.4× between runs).
 */
const WARMUP = 3000;
/** Places per upsert: the most a `place.upsert` takes (LIMITS.maxUpsertBatch). */
const BATCH = LIMITS.maxUpsertBatch;
const DATA_SEED = 20240601;
const QUERY_SEED = 777;
const TARGET_RATIO = 3;

function µs(ms: number): string {
  return `${(ms * 1000).toFixed(1)} µs`;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Loads `n` synthetic places in batches; returns their coordinates and the load rate. The places
 * are generated first, so the rate is the store's alone.
 */
async function load(
  store: EmbeddedGeoStore,
  n: number,
  log: (line: string) => void,
): Promise<{ coords: Float64Array; rate: number }> {
  const places: PlaceInput[] = [...synthetic(n, { seed: DATA_SEED })];
  const coords = new Float64Array(2 * n);
  places.forEach((p, i) => {
    coords[2 * i] = p.location.coordinates[0];
    coords[2 * i + 1] = p.location.coordinates[1];
  });
  const t0 = nowMs();
  for (let i = 0; i < n; i += BATCH) {
    await store.upsert(places.slice(i, i + BATCH));
    if ((i + BATCH) % 200_000 === 0) log(`loaded ${(i + BATCH).toLocaleString("en-US")} places`);
  }
  const seconds = (nowMs() - t0) / 1000;
  return { coords, rate: n / seconds };
}

/** Query points where people are: the same generator with another seed. */
function queryPoints(count: number): LngLat[] {
  return [...synthetic(count, { seed: QUERY_SEED })].map((p) => [
    p.location.coordinates[0],
    p.location.coordinates[1],
  ]);
}

function summary(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Runs the store scenario. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const n = opts.quick ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), "geomesh-bench-store-"));
  const store = new EmbeddedGeoStore({ path: join(dir, "bench.sqlite"), region: "BENCH" });
  try {
    await store.init();
    opts.log(
      `loading ${n.toLocaleString("en-US")} synthetic places (batches of ${BATCH}, synchronous=FULL)…`,
    );
    const { coords, rate } = await load(store, n, opts.log);
    const bytes = (await store.stats()).bytes ?? 0;
    opts.log(`load rate ${fmt.rate(rate)}; file and WAL ${(bytes / 2 ** 20).toFixed(0)} MiB`);

    const t0 = nowMs();
    const index = new KDBush(n);
    for (let i = 0; i < n; i++) index.add(coords[2 * i]!, coords[2 * i + 1]!);
    index.finish();
    const kdBuildMs = nowMs() - t0;

    const points = queryPoints(WARMUP + QUERIES);
    const kd: number[] = [];
    const full: number[] = [];
    const indexPhase: number[] = [];
    const rowsPhase: number[] = [];
    let disagreements = 0;
    let candidates = 0;
    let scans = 0;
    for (const [i, point] of points.entries()) {
      const stats = { ...store.queryStats };
      const a = nowMs();
      const ids = around(index, point[0], point[1], K);
      const b = nowMs();
      const page = await store.near({ point, limit: K });
      const c = nowMs();
      if (i < WARMUP) continue;
      kd.push(b - a);
      full.push(c - b);
      indexPhase.push(store.queryStats.nearIndexMs - stats.nearIndexMs);
      rowsPhase.push(store.queryStats.nearRowsMs - stats.nearRowsMs);
      candidates += store.queryStats.candidates - stats.candidates;
      scans += store.queryStats.scans - stats.scans;
      // Both must find the same k-th neighbour distance (ids differ: array indexes vs place ids).
      const last = ids[ids.length - 1];
      const kth = page.hits[page.hits.length - 1]?.distance;
      if (last !== undefined && kth !== undefined) {
        const d = distanceMeters(point, [coords[2 * last]!, coords[2 * last + 1]!]);
        if (Math.abs(d - kth) > 1e-6 * d + 1e-6) disagreements += 1;
      }
    }
    const k = summary(kd);
    const s = summary(full);
    const ix = summary(indexPhase);
    const rp = summary(rowsPhase);
    // What a restart costs: a second store opening the file loads the index and the rows.
    const o0 = nowMs();
    const reopened = new EmbeddedGeoStore({ path: join(dir, "bench.sqlite"), region: "BENCH" });
    await reopened.init();
    const openMs = nowMs() - o0;
    await reopened.close();
    const ratio = s.p50 / k.p50;
    const indexRatio = ix.p50 / k.p50;
    const rows: BenchRow[] = [
      {
        metric: `load ${n.toLocaleString("en-US")} places into the embedded store`,
        value: fmt.rate(rate),
      },
      {
        metric: `kNN k=${K} median: store.near() → complete places`,
        value: µs(s.p50),
        baseline: `${µs(k.p50)} geokdbush`,
        ratio,
        target: `≤ ${TARGET_RATIO}×`,
        pass: ratio <= TARGET_RATIO,
      },
      {
        metric: `kNN k=${K} p99: store.near()`,
        value: µs(s.p99),
        baseline: `${µs(k.p99)} geokdbush`,
        ratio: s.p99 / k.p99,
      },
      {
        metric: `kNN k=${K} median: index phase of near() (keys + distances, like around())`,
        value: µs(ix.p50),
        baseline: `${µs(k.p50)} geokdbush`,
        ratio: indexRatio,
        target: `≤ ${TARGET_RATIO}×`,
        pass: indexRatio <= TARGET_RATIO,
      },
      {
        metric: `kNN k=${K} median: rows phase of near() (the page's places from memory, decoded)`,
        value: µs(rp.p50),
      },
      {
        metric: `open the ${n.toLocaleString("en-US")}-place file (cell index and rows loaded)`,
        value: `${(openMs / 1000).toFixed(1)} s`,
      },
    ];
    const notes = [
      `${n.toLocaleString("en-US")} points from \`synthetic(n, seed ${DATA_SEED})\` (population-weighted around US cities); ${QUERIES} query points from the same generator (seed ${QUERY_SEED}), after ${WARMUP} warm-up queries; each query timed on both back-to-back.`,
      `Store: one SQLite file (WAL, synchronous=FULL, default page cache, no mmap) with its in-memory cell index and rows (loaded at open, kept in step with the file): the places next to the query on the Hilbert curve bound the radius, then best-first search from the few cells covering that cap with exact spherical distances — ${(candidates / QUERIES).toFixed(1)} distances computed per query on average (${(scans / QUERIES).toFixed(2)} searches); then the hits' rows are read from memory (one string per place; the page's strings touched first so their cache misses overlap) and decoded into places; an unfiltered near() whose memory is current runs without a SQLite transaction or system call (the WAL-index header, mapped from the \`-shm\` file, unchanged since the last \`PRAGMA data_version\` that found memory current; anything else asks SQLite); file and WAL ${(bytes / 2 ** 20).toFixed(0)} MiB.`,
      `geokdbush returns indexes into an in-memory array (kd-tree built in ${kdBuildMs.toFixed(0)} ms). store.near() also reads the hits' rows and decodes them into places; the index-phase row isolates the part comparable to around().`,
      `Load: ${BATCH.toLocaleString("en-US")} places per upsert batch (the most one \`place.upsert\` takes), generated before the clock starts; each batch one fsync'd transaction (the durable default); every place also writes its outbox change (which reads the place from its row until the row changes) and its in-memory index entry and row.`,
    ];
    if (disagreements > 0)
      notes.push(
        `${disagreements} queries' k-th neighbour distance differed between the two (ties or float noise).`,
      );
    return { name: "store", title: "Embedded store: load and kNN vs geokdbush", rows, notes };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
