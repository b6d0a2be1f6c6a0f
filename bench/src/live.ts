/**
 * Live feeds (`WS /v1/live`): events per second delivered to 10 000 subscriptions spread over
 * the two gateways of `geomesh up --gateways 2`, and the write-to-delivery latency. Writers in
 * this process upsert new places through both gateways' HTTP API (`POST /v1/places/bulk`), each
 * carrying its send time in `properties.t`; WebSocket clients in this process hold the
 * subscriptions, so one clock times both ends. Every delivery is checked against an oracle
 * (`pointInShape` over the subscriptions' areas): none missing, none twice, none outside.
 * Baseline, in the same run: the same writers with no subscription anywhere, before and after.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import WebSocket from "ws";
import { GeomeshClient } from "@geomesh/client";
import { EVENT_HOLD_MS } from "@geomesh/protocol";
import { type ClusterConfig, loadClusterConfig } from "@geomesh/config";
import { createPrng, usCities } from "@geomesh/datasets";
import {
  type LngLat,
  type Shape,
  defaultRegionMap,
  distanceMeters,
  parseWithinBody,
  pointInShape,
} from "@geomesh/geo";
import {
  type Cluster,
  type ProcessCpu,
  coresOf,
  cpuSummary,
  groupMembers,
  pct,
  startCluster,
  stopGroup,
  withCpu,
} from "./cluster.js";
import { type BenchOptions, type BenchReport, fmt, percentile } from "./report.js";

const SUBSCRIPTIONS = 10_000;
/** The gateway's limit per socket (docs/protocol.md), so 100 sockets, 50 on each gateway. */
const PER_SOCKET = 100;
const SOCKETS = SUBSCRIPTIONS / PER_SOCKET;
const CITIES_PER_REGION = 8;
/**
 * Chosen cities are at least this far apart; an area reaches ≤ 53 km from its city (centre ≤
 * 25 km off, box half-diagonal ≤ 28 km) and a write lands ≤ 50 km from its city, so a write can
 * only fall into its own city's areas — the oracle checks just those.
 */
const CITY_SPACING_M = 150_000;
const AREA_OFFSET_M = 25_000;
const AREA_MIN_M = 2_000;
const AREA_MAX_M = 20_000;
const WRITE_SPREAD_M = 50_000;
/** Write locations (with their matching subscriptions) are drawn once and reused with new ids. */
const POOL = 8192;
const SEED = 20_251_201;
/** Concurrent writers, each with one bulk request in flight, alternating between the gateways. */
const WRITERS = 4;
/** Places per bulk request (spread over the five regions). */
const BATCH = 10;
/** The dense phase writes only at spots inside at least this many areas: the feeds' own headroom. */
const DENSE_MIN = 40;
const SUBSCRIBE_TIMEOUT_MS = 120_000;
/** After the last write is acknowledged: give up waiting for deliveries after this long without progress. */
const DRAIN_IDLE_MS = 5_000;
const DRAIN_MAX_MS = 60_000;
const M_PER_DEG = 111_195;
/** Sampling interval of this process's event-loop delay histogram (ms). */
const LAG_RESOLUTION_MS = 10;

const now = () => performance.timeOrigin + performance.now();

interface Subscription {
  readonly id: string;
  readonly area: Record<string, unknown>;
  readonly shape: Shape;
}

interface WriteSpot {
  readonly at: LngLat;
  /** Global indexes of the subscriptions whose areas hold the spot. */
  readonly subs: readonly number[];
  readonly subSet: ReadonlySet<number>;
}

interface Plan {
  readonly cities: readonly { readonly name: string; readonly region: string; at: LngLat }[];
  readonly subs: readonly Subscription[];
  readonly pool: readonly WriteSpot[];
}

/** A point `d` metres from `c` towards bearing `theta` (local flat approximation, rounded to 1e-6°). */
function offset(c: LngLat, d: number, theta: number): LngLat {
  const lat = c[1] + (d * Math.cos(theta)) / M_PER_DEG;
  const lng = c[0] + (d * Math.sin(theta)) / (M_PER_DEG * Math.cos((c[1] * Math.PI) / 180));
  return [Math.round(lng * 1e6) / 1e6, Math.round(lat * 1e6) / 1e6];
}

/**
 * The cities (the most populous of each region, spaced out), 10 000 small areas around them
 * (two thirds circles, one third boxes, 2–20 km in radius or half-side), and the write pool:
 * spots spread uniformly over 50 km around a city, each with the subscriptions it falls into.
 */
function plan(): Plan {
  const map = defaultRegionMap();
  const rng = createPrng(SEED);
  const cities: { name: string; region: string; at: LngLat }[] = [];
  const perRegion = new Map<string, number>();
  for (const c of [...usCities()].sort((a, b) => b.population - a.population)) {
    const at: LngLat = [c.lng, c.lat];
    const region = map.regionOf(at);
    if (region === undefined || (perRegion.get(region) ?? 0) >= CITIES_PER_REGION) continue;
    if (cities.some((o) => distanceMeters(o.at, at) < CITY_SPACING_M)) continue;
    cities.push({ name: `${c.name} ${c.state}`, region, at });
    perRegion.set(region, (perRegion.get(region) ?? 0) + 1);
    if (cities.length === CITIES_PER_REGION * map.names().length) break;
  }
  const subs: Subscription[] = [];
  const byCity: number[][] = cities.map(() => []);
  for (let g = 0; g < SUBSCRIPTIONS; g++) {
    const ci = g % cities.length;
    const center = offset(
      cities[ci]!.at,
      AREA_OFFSET_M * Math.sqrt(rng.next()),
      rng.next() * 2 * Math.PI,
    );
    const size = AREA_MIN_M + rng.next() * (AREA_MAX_M - AREA_MIN_M);
    let area: Record<string, unknown>;
    if (g % 3 === 2) {
      const sw = offset(offset(center, size, Math.PI), size, -Math.PI / 2);
      const ne = offset(offset(center, size, 0), size, Math.PI / 2);
      area = { box: [sw, ne] };
    } else {
      area = { circle: { center, radius: Math.round(size) } };
    }
    subs.push({ id: `s${g}`, area, shape: parseWithinBody(area).shape });
    byCity[ci]!.push(g);
  }
  const pool: WriteSpot[] = [];
  while (pool.length < POOL) {
    const ci = rng.int(cities.length);
    const at = offset(
      cities[ci]!.at,
      WRITE_SPREAD_M * Math.sqrt(rng.next()),
      rng.next() * 2 * Math.PI,
    );
    if (map.regionOf(at) === undefined) continue; // out at sea, more than 50 km from a region
    const hit = byCity[ci]!.filter((g) => pointInShape(at, subs[g]!.shape));
    pool.push({ at, subs: hit, subSet: new Set(hit) });
  }
  return { cities, subs, pool };
}

interface SequencerSnapshot {
  readonly region: string;
  readonly emitted: number;
  /** Events that reached the broker after their number had been skipped (dropped there). */
  readonly late: number;
  readonly skipped: number;
}

/** Each region broker's event sequencer counters (`broker.status`); NaN where it did not answer. */
async function sequencers(config: ClusterConfig): Promise<SequencerSnapshot[]> {
  return Promise.all(
    config.regions.map(async (r) => {
      const client = new GeomeshClient({ endpoint: r.endpoints.frontend, timeoutMs: 5000 });
      try {
        const status = await client.request<{ events?: Partial<SequencerSnapshot> }>(
          "broker.status",
          null,
        );
        const e = status.events ?? {};
        return {
          region: r.name,
          emitted: e.emitted ?? NaN,
          late: e.late ?? NaN,
          skipped: e.skipped ?? NaN,
        };
      } catch {
        return { region: r.name, emitted: NaN, late: NaN, skipped: NaN }; // shown as NaN
      } finally {
        await client.close();
      }
    }),
  );
}

/**
 * Warn-or-worse lines of the children's logs: counted per kind of process and message, with the
 * first error message seen (for the doc), and the first line of each (for the console).
 */
function warnings(logDir: string): { summary: string[]; examples: string[]; restarts: number } {
  const restarts: string[] = [];
  const groups = new Map<string, { n: number; processes: Set<string>; err?: string }>();
  const examples: string[] = [];
  if (!existsSync(logDir)) return { summary: [], examples, restarts: 0 };
  for (const file of readdirSync(logDir).sort()) {
    const name = file.replace(/\.log$/, "");
    const kind = name.startsWith("broker")
      ? "brokers"
      : name.startsWith("worker")
        ? "workers"
        : name.startsWith("gateway")
          ? "gateways"
          : name;
    const lines = readFileSync(join(logDir, file), "utf8").split("\n");
    // A process the supervisor restarted logs under a new pid; what it printed on the way out
    // (an uncaught exception's stack) is plain stderr text among the JSON lines.
    const pids = new Set(
      lines.map((l) => /^\{"level":\d+,"time":"[^"]*","pid":(\d+)/.exec(l)?.[1]),
    );
    pids.delete(undefined);
    const starts = pids.size;
    if (starts > 1) {
      const stderr = lines.filter((l) => l.trim() !== "" && !l.startsWith("{"));
      const first = stderr.find((l) => /Error/.test(l)) ?? stderr[0];
      restarts.push(
        `${name} restarted ${starts - 1}×${
          first
            ? ` (its stderr: ${first.trim().slice(0, 200)}${
                stderr.find((l) => /^\s+at /.test(l))
                  ? ` ${stderr
                      .find((l) => /^\s+at /.test(l))!
                      .trim()
                      .slice(0, 120)}`
                  : ""
              })`
            : ""
        }`,
      );
      examples.push(`${file} stderr: ${stderr.slice(0, 12).join(" | ").slice(0, 1500)}`);
    }
    for (const line of lines) {
      if (!/"level":(40|50|60)/.test(line)) continue;
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 120);
      const key = `${kind}: "${msg}"`;
      let g = groups.get(key);
      if (!g) {
        examples.push(`${file}: ${line.slice(0, 600)}`);
        const err = /"err":\{[^}]*?"message":"([^"]*)"/.exec(line)?.[1];
        g = { n: 0, processes: new Set(), ...(err ? { err } : {}) };
        groups.set(key, g);
      }
      g.n += 1;
      g.processes.add(name);
    }
  }
  const summary = [
    ...restarts,
    ...[...groups].map(
      ([key, g]) =>
        `${key} × ${g.n} (${g.processes.size} process${g.processes.size === 1 ? "" : "es"}${g.err ? `; error: ${g.err}` : ""})`,
    ),
  ];
  return { summary, examples, restarts: restarts.length };
}

/** One write: its spot, when its request was sent and when it was acknowledged. */
interface Write {
  readonly spot: number;
  readonly sent: number;
  ack: number;
  ok: boolean;
}

interface DriveResult {
  /** Acknowledged (accepted) writes per second over the run. */
  readonly rate: number;
  readonly writes: number;
  readonly seconds: number;
  /** Bulk request round trips (ms), ascending. */
  readonly ack: number[];
  readonly failures: string[];
}

interface LiveSocket {
  readonly ws: WebSocket;
  readonly gateway: number;
  subscribed: number;
  errors: string[];
  dropped: number;
  gaps: number;
  closed: string | undefined;
}

/** One measured run with the subscriptions in place. */
interface FeedPhase {
  readonly drive: DriveResult;
  readonly cores: ProcessCpu[];
  readonly self: number;
  readonly machine: number | undefined;
  readonly eventsPerSec: number;
  /** Deliveries the window's writes made due, per write. */
  readonly fanOut: number;
  /** Write-to-delivery (ms, ascending) of the window's writes. */
  readonly latency: number[];
  /** Delivery minus the write's HTTP answer (ms, ascending; negative: the event came first). */
  readonly afterAck: number[];
  readonly perGateway: number[];
  readonly drainMs: number;
  /** Index of the phase's first write (warm-up included). */
  readonly from: number;
  /** The brokers' sequencer counters and the gap messages received so far, after the phase. */
  readonly sequencers: SequencerSnapshot[];
  readonly gapMessages: number;
  readonly lag: { readonly p50: number; readonly p99: number; readonly max: number };
}

interface Delivery {
  readonly n: number;
  readonly g: number;
  readonly at: number;
  readonly latency: number;
}

export async function run({ quick, log }: BenchOptions): Promise<BenchReport> {
  const seconds = quick ? 3 : 10;
  const warmup = quick ? 1 : 2;
  const loadBefore = loadavg()[0]!;
  const t0 = Date.now();
  const { cities, subs, pool } = plan();
  const everywhere = pool.map((_, i) => i);
  const dense = everywhere.filter((i) => pool[i]!.subs.length >= DENSE_MIN);
  const fanOut = pool.reduce((a, s) => a + s.subs.length, 0) / pool.length;
  const fanOutMax = Math.max(...pool.map((s) => s.subs.length));
  const fanOutZero = pool.filter((s) => s.subs.length === 0).length / pool.length;
  log(
    `plan: ${cities.length} cities, ${SUBSCRIPTIONS} areas, ${POOL} write spots in ${fanOut.toFixed(2)} areas on average (max ${fanOutMax}, ${Math.round(fanOutZero * 100)} % in none; ${dense.length} in ≥ ${DENSE_MIN}), in ${Date.now() - t0} ms`,
  );

  const dir = mkdtempSync(join(tmpdir(), "geomesh-bench-live-"));
  let cluster: Cluster | undefined;
  const sockets: LiveSocket[] = [];
  const cleanup = async () => {
    for (const s of sockets) s.ws.terminate();
    if (cluster) await stopGroup(cluster.child);
    rmSync(dir, { recursive: true, force: true });
  };
  // Interrupted (Ctrl-C): `up` runs in its own process group and would not see the terminal's
  // signal, so stop it here before exiting.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the cluster…`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const writes: Write[] = [];
  const deliveries: Delivery[] = [];
  /** Deliveries per (write, subscription): `n * SUBSCRIPTIONS + g`. */
  const received = new Map<number, number>();
  /** The current measured run's time window and the events that arrived in it. */
  const measured = { start: Infinity, end: Infinity, events: 0 };
  let otherEvents = 0;
  let wrongKind = 0;
  let stampMismatch = 0;

  try {
    cluster = await startCluster(dir, log, { gateways: 2, sampleData: false });
    const gateways = cluster.gateways;
    log(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${gateways.join(", ")}`);
    const members = groupMembers(cluster.child.pid!);
    const config = loadClusterConfig({ path: cluster.configPath }).config;

    /**
     * `WRITERS` writers for `secs`, each with one bulk request in flight, new ids with `prefix`
     * (only "w" writes have subscribers), at the given pool spots in turn.
     */
    const drive = async (
      secs: number,
      prefix: string,
      spots: readonly number[],
    ): Promise<DriveResult> => {
      const start = now();
      const end = start + secs * 1000;
      const ack: number[] = [];
      const failures: string[] = [];
      let ok = 0;
      let last = start;
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let k = 0; now() < end; k++) {
            const gateway = gateways[(w + k) % gateways.length]!;
            const sent = now();
            const batch: number[] = [];
            const lines: string[] = [];
            for (let i = 0; i < BATCH; i++) {
              const n = writes.length;
              const spot = spots[n % spots.length]!;
              writes.push({ spot, sent, ack: NaN, ok: false });
              batch.push(n);
              lines.push(
                JSON.stringify({
                  id: `${prefix}${n}`,
                  name: `live ${n}`,
                  category: "bench",
                  location: { type: "Point", coordinates: pool[spot]!.at },
                  properties: { t: sent },
                }),
              );
            }
            let why: string | undefined;
            try {
              const res = await fetch(`${gateway}/v1/places/bulk`, {
                method: "POST",
                headers: { "content-type": "application/x-ndjson" },
                body: `${lines.join("\n")}\n`,
              });
              const text = await res.text();
              const body = (res.ok ? JSON.parse(text) : {}) as {
                accepted?: number;
                created?: number;
              };
              if (!res.ok) why = `HTTP ${res.status}: ${text.slice(0, 200)}`;
              else if (body.accepted !== BATCH || body.created !== BATCH)
                why = `accepted ${body.accepted}, created ${body.created} of ${BATCH}: ${text.slice(0, 200)}`;
            } catch (error) {
              why = (error as Error).message;
            }
            const t = now();
            last = Math.max(last, t);
            if (why !== undefined) {
              failures.push(why);
              await new Promise((r) => setTimeout(r, 50));
              continue;
            }
            ack.push(t - sent);
            ok += BATCH;
            for (const n of batch) {
              writes[n]!.ack = t;
              writes[n]!.ok = true;
            }
          }
        }),
      );
      const took = (last - start) / 1000;
      ack.sort((a, b) => a - b);
      return { rate: ok / took, writes: ok, seconds: took, ack, failures };
    };

    const ackLine = (d: DriveResult) =>
      `ack p50 ${fmt.ms(percentile(d.ack, 50))}, p99 ${fmt.ms(percentile(d.ack, 99))}`;

    // Baseline before: no subscription anywhere (the gateways follow no region).
    log(`baseline (no subscriptions): warm-up ${warmup} s, then ${seconds} s…`);
    await drive(warmup, "a", everywhere);
    const before = await withCpu(members, () => drive(seconds, "a", everywhere));
    log(
      `baseline before: ${fmt.rate(before.result.rate)} writes, ${ackLine(before.result)}; CPU: ${cpuSummary(before.cores, (c) => perWrite(c, before.result.rate))}, this process ${pct(before.self)}`,
    );

    // 100 sockets, alternately on the two gateways, 100 subscriptions each.
    const tSub = now();
    for (let s = 0; s < SOCKETS; s++) {
      const gateway = s % gateways.length;
      const ws = new WebSocket(`${gateways[gateway]!.replace(/^http/, "ws")}/v1/live`, {
        perMessageDeflate: false,
      });
      const socket: LiveSocket = {
        ws,
        gateway,
        subscribed: 0,
        errors: [],
        dropped: 0,
        gaps: 0,
        closed: undefined,
      };
      sockets.push(socket);
      ws.on("message", (data: Buffer) => {
        const at = now();
        const m = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
        switch (m.type) {
          case "event": {
            const id = String(m.id);
            if (!id.startsWith("w")) {
              otherEvents += 1;
              return;
            }
            const n = Number(id.slice(1));
            const g = Number(String(m.subscription).slice(1));
            if (m.kind !== "created") wrongKind += 1;
            const key = n * SUBSCRIPTIONS + g;
            received.set(key, (received.get(key) ?? 0) + 1);
            const place = m.place as { properties?: { properties?: { t?: unknown } } } | undefined;
            const t = Number(place?.properties?.properties?.t);
            if (t !== writes[n]?.sent) stampMismatch += 1;
            deliveries.push({ n, g, at, latency: at - t });
            if (at >= measured.start && at <= measured.end) measured.events += 1;
            return;
          }
          case "subscribed":
            socket.subscribed += 1;
            return;
          case "dropped":
            socket.dropped += Number(m.count);
            return;
          case "gap":
            socket.gaps += 1;
            return;
          default:
            socket.errors.push(JSON.stringify(m).slice(0, 300));
        }
      });
      ws.on("close", (code, reason) => {
        socket.closed ??= `closed with ${code} ${reason.toString()}`;
      });
      ws.on("error", (error) => {
        socket.closed ??= `error: ${error.message}`;
      });
    }
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve, reject) => {
            s.ws.once("open", () => resolve());
            s.ws.once("error", reject);
          }),
      ),
    );
    sockets.forEach((s, i) => {
      for (let g = i * PER_SOCKET; g < (i + 1) * PER_SOCKET; g++)
        s.ws.send(JSON.stringify({ op: "subscribe", id: subs[g]!.id, area: subs[g]!.area }));
    });
    const subscribed = () => sockets.reduce((a, s) => a + s.subscribed, 0);
    const refused = () => sockets.reduce((a, s) => a + s.errors.length, 0);
    while (subscribed() + refused() < SUBSCRIPTIONS) {
      if (now() - tSub > SUBSCRIBE_TIMEOUT_MS)
        throw new Error(
          `only ${subscribed()} of ${SUBSCRIPTIONS} subscriptions answered within ${SUBSCRIBE_TIMEOUT_MS} ms`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    const subscribeSeconds = (now() - tSub) / 1000;
    if (refused() > 0)
      throw new Error(
        `${refused()} subscriptions refused, e.g. ${sockets
          .flatMap((s) => s.errors)
          .slice(0, 3)
          .join("; ")}`,
      );
    log(
      `${subscribed()} subscriptions on ${SOCKETS} sockets (${SOCKETS / gateways.length} per gateway) subscribed in ${subscribeSeconds.toFixed(2)} s`,
    );

    /** The writes made with the subscriptions in place (ids "w…"). */
    const liveWrites = new Set<number>();
    /** Deliveries due so far: every acknowledged live write, once per area holding its spot. */
    const due = () => {
      let total = 0;
      for (const n of liveWrites) if (writes[n]!.ok) total += pool[writes[n]!.spot]!.subs.length;
      return total;
    };

    /** Waits until every due delivery arrived, or until nothing arrived for a while. */
    const drain = async (): Promise<number> => {
      const start = now();
      const want = due();
      let seen = deliveries.length;
      let progress = now();
      while (deliveries.length < want && now() - start < DRAIN_MAX_MS) {
        await new Promise((r) => setTimeout(r, 50));
        if (deliveries.length > seen) {
          seen = deliveries.length;
          progress = now();
        } else if (now() - progress > DRAIN_IDLE_MS) break;
      }
      return now() - start;
    };

    /** Warm-up, then a measured run with the subscriptions in place, then the drain. */
    const feedPhase = async (label: string, spots: readonly number[]): Promise<FeedPhase> => {
      log(`${label}: warm-up ${warmup} s, then ${seconds} s…`);
      const track = async (secs: number) => {
        const first = writes.length;
        const result = await drive(secs, "w", spots);
        for (let n = first; n < writes.length; n++) liveWrites.add(n);
        return { result, first, last: writes.length };
      };
      const from = writes.length;
      await track(warmup);
      const loop = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
      measured.start = now();
      measured.end = Infinity;
      measured.events = 0;
      loop.enable();
      const cpu = await withCpu(members, () => track(seconds));
      measured.end = now();
      loop.disable();
      const { result, first, last } = cpu.result;
      const eventsPerSec = measured.events / ((measured.end - measured.start) / 1000);
      const drainMs = await drain();
      const seq = await sequencers(config);
      const ok = writes.slice(first, last).filter((w) => w.ok);
      const inWindow = deliveries.filter((d) => d.n >= first && d.n < last);
      const phase: FeedPhase = {
        drive: result,
        cores: cpu.cores,
        self: cpu.self,
        machine: cpu.machine,
        eventsPerSec,
        fanOut: ok.reduce((a, w) => a + pool[w.spot]!.subs.length, 0) / Math.max(1, ok.length),
        latency: inWindow.map((d) => d.latency).sort((a, b) => a - b),
        afterAck: inWindow.map((d) => d.at - writes[d.n]!.ack).sort((a, b) => a - b),
        perGateway: gateways.map(
          (_, i) =>
            inWindow.filter((d) => Math.floor(d.g / PER_SOCKET) % gateways.length === i).length,
        ),
        drainMs,
        from,
        sequencers: seq,
        gapMessages: sockets.reduce((a, k) => a + k.gaps, 0),
        // The histogram holds whole sampling intervals: the delay is what exceeds the resolution.
        lag: {
          p50: Math.max(0, loop.percentile(50) / 1e6 - LAG_RESOLUTION_MS),
          p99: Math.max(0, loop.percentile(99) / 1e6 - LAG_RESOLUTION_MS),
          max: Math.max(0, loop.max / 1e6 - LAG_RESOLUTION_MS),
        },
      };
      log(
        `${label}: ${fmt.rate(result.rate)} writes × ${phase.fanOut.toFixed(2)} areas → ${fmt.rate(eventsPerSec)} events delivered; write-to-delivery p50 ${fmt.ms(percentile(phase.latency, 50))}, p99 ${fmt.ms(percentile(phase.latency, 99))}, ${ackLine(result)}; drained in ${(drainMs / 1000).toFixed(1)} s; brokers' sequencers so far: ${seqLine(seq)}, gap messages so far ${phase.gapMessages}; CPU: ${cpuSummary(cpu.cores, (c) => perWrite(c, result.rate))}, this process ${pct(cpu.self)} (event-loop delay p99 ${phase.lag.p99.toFixed(1)} ms)`,
      );
      return phase;
    };

    const spread = await feedPhase("with subscriptions, writes spread out", everywhere);
    const hot = await feedPhase(`with subscriptions, dense (spots in ≥ ${DENSE_MIN} areas)`, dense);
    await new Promise((r) => setTimeout(r, 500)); // anything extra would arrive now

    // The oracle: each write's spot lists the subscriptions that must hear of it, once.
    let missingSpread = 0;
    let missing = 0;
    let duplicates = 0;
    let unexpected = 0;
    const missingExamples: string[] = [];
    for (const n of liveWrites) {
      const w = writes[n]!;
      if (!w.ok) continue;
      for (const g of pool[w.spot]!.subs)
        if (!received.has(n * SUBSCRIPTIONS + g)) {
          missing += 1;
          if (n < hot.from) missingSpread += 1;
          if (missingExamples.length < 3)
            missingExamples.push(
              `w${n} at [${pool[w.spot]!.at.join(",")}] for ${subs[g]!.id} ${JSON.stringify(subs[g]!.area)} (socket ${Math.floor(g / PER_SOCKET)}, gateway ${(Math.floor(g / PER_SOCKET) % gateways.length) + 1})`,
            );
        }
    }
    for (const [key, count] of received) {
      duplicates += count - 1;
      const w = writes[Math.floor(key / SUBSCRIPTIONS)];
      if (!w || !pool[w.spot]!.subSet.has(key % SUBSCRIPTIONS)) unexpected += 1;
    }
    const dueTotal = due();
    const dropped = sockets.reduce((a, s) => a + s.dropped, 0);
    const gaps = sockets.reduce((a, s) => a + s.gaps, 0);
    const closed = sockets.filter((s) => s.closed !== undefined);
    const errors = sockets.flatMap((s) => s.errors);
    log(
      `deliveries: ${deliveries.length} of ${dueTotal} due; missing ${missing}, duplicates ${duplicates}, outside their areas ${unexpected}; dropped ${dropped}, gaps ${gaps}, sockets closed ${closed.length}, errors ${errors.length}`,
    );
    for (const m of missingExamples) log(`  missing: ${m}`);

    // Baseline after: sockets closed, so the gateways follow no region again.
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.ws.readyState === WebSocket.CLOSED) return resolve();
            s.ws.once("close", () => resolve());
            s.ws.close(1000);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    log(`baseline again, sockets closed: ${seconds} s…`);
    const after = await withCpu(members, () => drive(seconds, "c", everywhere));
    log(`baseline after: ${fmt.rate(after.result.rate)} writes, ${ackLine(after.result)}`);
    // The children's logs, for the whole run (they go with the temp dir).
    const logWarnings = warnings(join(dir, "logs"));
    for (const w of logWarnings.summary) log(`  log: ${w}`);
    for (const w of logWarnings.examples.slice(0, 8)) log(`  e.g. ${w}`);

    const base = (before.result.rate + after.result.rate) / 2;
    const baseAck = [...before.result.ack, ...after.result.ack].sort((a, b) => a - b);
    const s = spread.drive;
    const failures = [before, after].flatMap((b) => b.result.failures);
    failures.push(...spread.drive.failures, ...hot.drive.failures);
    const complete =
      missing === 0 &&
      duplicates === 0 &&
      unexpected === 0 &&
      wrongKind === 0 &&
      otherEvents === 0 &&
      stampMismatch === 0;
    const healthy =
      logWarnings.restarts === 0 &&
      dropped === 0 &&
      gaps === 0 &&
      closed.length === 0 &&
      errors.length === 0 &&
      failures.length === 0;
    const gw = (cores: readonly ProcessCpu[]) =>
      cores.filter((c) => c.role === "gateway").reduce((a, c) => a + c.cores, 0);
    const perEvent = (p: FeedPhase) => {
      const extra = gw(p.cores) - gw(before.cores);
      return extra > 0
        ? `${((extra / Math.max(1, p.eventsPerSec)) * 1e6).toFixed(1)} µs`
        : "n/a (less than without subscriptions)";
    };
    const latencyRow = (p: FeedPhase, q: number, what: string) => ({
      metric: `write-to-delivery p${q}, ${what} (vs. the same writes' HTTP answer)`,
      value: fmt.ms(percentile(p.latency, q)),
      baseline: `${fmt.ms(percentile(p.drive.ack, q))} (answer)`,
      ratio: percentile(p.latency, q) / percentile(p.drive.ack, q),
    });
    const cpuNote = (p: FeedPhase) =>
      `${pct(coresOf(p.cores))} — ${cpuSummary(p.cores, (c) => perWrite(c, p.drive.rate))}; this process ${pct(p.self)}, its event-loop delay (which delays the arrival stamps) p50 ${p.lag.p50.toFixed(1)} / p99 ${p.lag.p99.toFixed(1)} / max ${p.lag.max.toFixed(1)} ms; whole machine ${p.machine === undefined ? "?" : pct(p.machine)}`;
    const timingNote = (label: string, p: FeedPhase) =>
      `${label}: ${p.latency.length.toLocaleString("en-US")} deliveries of the window's writes, ${Math.round((p.afterAck.filter((x) => x < 0).length / Math.max(1, p.afterAck.length)) * 100)} % of them before the write's HTTP answer (event time minus answer time p50 ${percentile(p.afterAck, 50).toFixed(1)} ms, p99 ${percentile(p.afterAck, 99).toFixed(1)} ms); per gateway ${p.perGateway.map((n) => n.toLocaleString("en-US")).join(" / ")}; ${p.drainMs < DRAIN_IDLE_MS ? `all due deliveries in ${(p.drainMs / 1000).toFixed(1)} s after the last answer` : `waited ${(p.drainMs / 1000).toFixed(1)} s after the last answer for deliveries that never came`}.`;

    return {
      name: "live",
      title: "Live feeds: 10 000 subscriptions over two gateways, events delivered per second",
      rows: [
        {
          metric: `events delivered/s, writes spread out (${SUBSCRIPTIONS.toLocaleString("en-US")} subscriptions, ${SOCKETS} sockets, 2 gateways; ${seconds} s; vs. writes/s × areas per write)`,
          value: fmt.rate(spread.eventsPerSec),
          baseline: `${fmt.rate(s.rate * spread.fanOut)} (${fmt.rate(s.rate)} × ${spread.fanOut.toFixed(2)})`,
          ratio: spread.eventsPerSec / (s.rate * spread.fanOut),
        },
        {
          metric: `events delivered/s, dense: writes only at spots in ≥ ${DENSE_MIN} areas`,
          value: fmt.rate(hot.eventsPerSec),
          baseline: `${fmt.rate(hot.drive.rate * hot.fanOut)} (${fmt.rate(hot.drive.rate)} × ${hot.fanOut.toFixed(2)})`,
          ratio: hot.eventsPerSec / (hot.drive.rate * hot.fanOut),
        },
        {
          metric: `writes/s (${WRITERS} writers, bulk of ${BATCH}), spread out, with subscriptions vs. none`,
          value: fmt.rate(s.rate),
          baseline: `${fmt.rate(base)} (${fmt.rate(before.result.rate)} before, ${fmt.rate(after.result.rate)} after)`,
          ratio: s.rate / base,
        },
        latencyRow(spread, 50, "spread out"),
        latencyRow(spread, 99, "spread out"),
        latencyRow(hot, 50, "dense"),
        latencyRow(hot, 99, "dense"),
        {
          metric:
            "write ack p50 / p99 (bulk request round trip), spread out, with subscriptions vs. none",
          value: `${fmt.ms(percentile(s.ack, 50))} / ${fmt.ms(percentile(s.ack, 99))}`,
          baseline: `${fmt.ms(percentile(baseAck, 50))} / ${fmt.ms(percentile(baseAck, 99))}`,
        },
        {
          metric: `deliveries missing / duplicate / outside the area (of ${dueTotal.toLocaleString("en-US")} due)`,
          value: `${missing} / ${duplicates} / ${unexpected}`,
          target: "0 / 0 / 0",
          pass: complete,
        },
        {
          metric:
            "messages dropped (slow consumer), gap messages, error messages, sockets closed, failed writes, processes restarted",
          value: `${dropped}, ${gaps}, ${errors.length}, ${closed.length}, ${failures.length}, ${logWarnings.restarts}`,
          target: "0",
          pass: healthy,
        },
      ],
      notes: [
        `Cluster: \`geomesh up --gateways 2 --no-sample-data\` (5 brokers, ${cluster.workersPerRegion} worker${cluster.workersPerRegion === 1 ? "" : "s"} per region at concurrency 4, 2 gateways; each its own process), the gateways' rate limit off (\`gateway.rateLimit.max: 0\`), empty stores at the start.`,
        `Subscriptions: ${SUBSCRIPTIONS.toLocaleString("en-US")} areas around ${cities.length} US cities, ${CITIES_PER_REGION} per region (${cities
          .slice(0, 8)
          .map((c) => c.name)
          .join(
            ", ",
          )}, …), two thirds circles and one third boxes, 2–20 km in radius or half-side, centred ≤ 25 km from their city; ${PER_SOCKET} per WebSocket (the gateway's limit, so ${SOCKETS} sockets at least), alternately on the two gateways, all in this process; subscribing all of them (sent at once, each socket's in order) took ${subscribeSeconds.toFixed(2)} s.`,
        `Writes: ${WRITERS} writers in this process, each with one \`POST /v1/places/bulk\` of ${BATCH} new places (mixed regions) in flight, alternating between the gateways; every place a new id, so each area holding it is due one \`created\`. Spots: ${POOL} drawn uniformly within 50 km of a city (seed ${SEED}), in ${fanOut.toFixed(2)} areas on average (max ${fanOutMax}, ${Math.round(fanOutZero * 100)} % in none); the dense phase cycles through the ${dense.length} spots in ≥ ${DENSE_MIN} areas. \`properties.t\` carries the request's send time; the client stamps each event on arrival (same process, same clock). Latency rows cover the deliveries of the writes sent in the ${seconds} s window; events/s counts what arrived in the window.`,
        timingNote("Spread out", spread),
        timingNote("Dense", hot),
        `Baselines: the events/s rows compare with what the measured write rate makes due (1.00× = the feeds keep up with the writes); the throughput row with the same writers and spots with no subscription anywhere (the gateways then follow no region's events), ${seconds} s before subscribing and ${seconds} s after closing the sockets, mean of the two; the latency rows with the HTTP answers to the same writes (below 1× = subscribers hear of a write before its writer does).`,
        `Oracle: each write's spot lists the subscriptions whose areas hold it (\`pointInShape\` from @geomesh/geo); after each phase all due deliveries were awaited (up to ${DRAIN_IDLE_MS / 1000} s without progress), then 0.5 s more for extras: ${deliveries.length.toLocaleString("en-US")} arrived of ${dueTotal.toLocaleString("en-US")} due. Also checked: every event \`created\` (${wrongKind} other), the embedded send time (${stampMismatch} mismatches), events of writes made while nothing was subscribed (${otherEvents}).`,
        `Where the time goes (CPU during each measured run; 100 % = one core). Spread out: ${cpuNote(spread)}. Dense: ${cpuNote(hot)}. No subscriptions: ${pct(coresOf(before.cores))} — ${cpuSummary(before.cores, (c) => perWrite(c, before.result.rate))}; this process ${pct(before.self)}. The gateways' CPU above the no-subscription run, per delivered event: ${perEvent(spread)} spread out, ${perEvent(hot)} dense. Load average ${loadBefore.toFixed(1)} before the run.`,
        ...(complete
          ? []
          : [
              `**Deliveries were not exactly once**: ${missing} missing, ${duplicates} duplicates, ${unexpected} outside their areas, ${wrongKind} of another kind, ${stampMismatch} with a wrong send time, ${otherEvents} of writes nobody subscribed to.${missingExamples.length > 0 ? ` Missing, e.g.: ${missingExamples[0]}.` : ""}`,
            ]),
        ...(complete && healthy
          ? []
          : [
              `**Where deliveries went missing**: spread out ${missingSpread} missing and ${spread.gapMessages} gap messages; dense ${missing - missingSpread} missing and ${hot.gapMessages - spread.gapMessages} gap messages (a gap message goes to every socket with an area in the region). The brokers' event sequencers (\`broker.status\`: numbers skipped after waiting ${EVENT_HOLD_MS} ms / events that came after their number was skipped): ${[...spread.sequencers, ...hot.sequencers].every((x) => x.skipped === 0 && x.late === 0) ? "0 / 0 in every region after both phases, so the brokers counted every event as published" : `after the spread-out phase ${seqLine(spread.sequencers)}; after the dense phase ${seqLine(hot.sequencers)}`}. Warnings in the children's logs (rate-limited, so counts are lower bounds): ${logWarnings.summary.join("; ") || "none"}.`,
            ]),
        ...(healthy
          ? []
          : [
              `**Feed trouble**: ${[
                logWarnings.restarts > 0
                  ? `${logWarnings.restarts} processes of the cluster died and were restarted by \`up\` (${logWarnings.summary.slice(0, logWarnings.restarts).join("; ")})`
                  : "",
                dropped > 0 ? `${dropped} messages dropped for slow consumers` : "",
                gaps > 0
                  ? `${gaps} gap messages (the gateways saw region seq numbers jump: the events in between never reached them)`
                  : "",
                closed.length > 0
                  ? `${closed.length} sockets closed (${closed
                      .slice(0, 3)
                      .map((c) => c.closed)
                      .join("; ")})`
                  : "",
                errors.length > 0
                  ? `${errors.length} error messages (${errors.slice(0, 3).join("; ")})`
                  : "",
                failures.length > 0
                  ? `${failures.length} failed writes (${failures.slice(0, 3).join("; ")})`
                  : "",
              ]
                .filter((x) => x !== "")
                .join("; ")}.`,
            ]),
        `All ${members.length} processes of the cluster's group, and this one, share the same 2 cores with whatever else runs on this machine, so the ratios are the claim, not the absolute rates.`,
      ],
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}

/** "NE 0 skipped/0 late, …" (cumulative since the brokers started). */
const seqLine = (seq: readonly SequencerSnapshot[]) =>
  seq.map((x) => `${x.region} ${x.skipped} skipped/${x.late} late`).join(", ");

const perWrite = (cores: number, rate: number) => `${((cores / rate) * 1000).toFixed(2)} ms/write`;
