/**
 * `geomesh status` output: parses a broker's `broker.status` JSON leniently (it comes off the
 * network, possibly from another version) and renders readable tables.
 */

export interface WorkerRow {
  readonly id: string;
  readonly dialect: string;
  readonly credit: number;
  readonly inflight: number;
  readonly draining: boolean;
  readonly lastSeenMsAgo: number | undefined;
  readonly services: readonly string[];
}

export interface ServiceRow {
  readonly name: string;
  readonly workers: number;
  readonly queued: number;
  readonly inflight: number;
  readonly freeCredit: number;
}

export interface PeerRow {
  readonly name: string;
  readonly alive: boolean;
  readonly capacity: number;
  readonly ageMs: number | undefined;
  readonly inflight: number | undefined;
}

export interface BrokerSnapshot {
  readonly name: string;
  readonly state: string;
  readonly heartbeat: { readonly intervalMs: number; readonly liveness: number } | undefined;
  readonly workers: readonly WorkerRow[];
  readonly services: readonly ServiceRow[];
  readonly freeCapacity: number;
  readonly pending: number;
  readonly clients: number;
  readonly counters: Readonly<Record<string, number>>;
  /** Present when the broker peers with others. */
  readonly peers: readonly PeerRow[] | undefined;
}

/** One region's answer (or why there is none). */
export type StatusResult =
  | {
      readonly region: string;
      readonly endpoint: string;
      readonly ok: true;
      readonly status: BrokerSnapshot;
      readonly raw: unknown;
    }
  | {
      readonly region: string;
      readonly endpoint: string;
      readonly ok: false;
      /** "unreachable" (no answer) or "error" (an answer that is not a status). */
      readonly state: "unreachable" | "error";
      readonly error: string;
    };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown, fallback = 0): number =>
  typeof v === "number" && Number.isFinite(v) ? v : fallback;
const optNum = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;
const str = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** Reads a `broker.status` body; undefined when it is not a status object at all. */
export function parseBrokerStatus(raw: unknown): BrokerSnapshot | undefined {
  if (!isObject(raw) || typeof raw.state !== "string") return undefined;
  const hb = isObject(raw.heartbeat) ? raw.heartbeat : undefined;
  const counters: Record<string, number> = {};
  if (isObject(raw.counters))
    for (const [k, v] of Object.entries(raw.counters)) if (typeof v === "number") counters[k] = v;
  return {
    name: str(raw.name, "?"),
    state: raw.state,
    heartbeat: hb ? { intervalMs: num(hb.intervalMs), liveness: num(hb.liveness) } : undefined,
    workers: list(raw.workers).map((w) => ({
      id: printableId(str(w.id, "?")),
      dialect: str(w.dialect, "?"),
      credit: num(w.credit),
      inflight: num(w.inflight),
      draining: w.draining === true,
      lastSeenMsAgo: optNum(w.lastSeenMsAgo),
      services: Array.isArray(w.services)
        ? w.services.filter((s): s is string => typeof s === "string")
        : [],
    })),
    services: list(raw.services).map((s) => ({
      name: str(s.name, "?"),
      workers: num(s.workers),
      queued: num(s.queued),
      inflight: num(s.inflight),
      freeCredit: num(s.freeCredit),
    })),
    freeCapacity: num(raw.freeCapacity),
    pending: num(raw.pending),
    clients: num(raw.clients),
    counters,
    peers: parsePeers(raw.peers),
  };
}

/**
 * Worker ids are ZeroMQ routing ids (often binary, sent as latin1): show those as hex, the way
 * the broker's logs do.
 */
function printableId(id: string): string {
  return /^[\x21-\x7e]+$/.test(id) ? id : Buffer.from(id, "latin1").toString("hex");
}

/** Peers as a list of objects, or as an object keyed by peer name. */
function parsePeers(raw: unknown): PeerRow[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const entries: [string | undefined, Json][] = Array.isArray(raw)
    ? list(raw).map((p) => [undefined, p])
    : isObject(raw)
      ? Object.entries(raw).flatMap(([k, v]): [string, Json][] => (isObject(v) ? [[k, v]] : []))
      : [];
  const now = Date.now();
  return entries.map(([key, p]) => {
    const heardAt = optNum(p.heardAt);
    return {
      name: str(p.name, key ?? "?"),
      alive: p.alive === true,
      capacity: num(p.capacity),
      ageMs: optNum(p.ageMs) ?? (heardAt ? now - heardAt : undefined),
      inflight: optNum(p.inflight),
    };
  });
}

/** Counters always shown (when the broker reports them), in this order. */
const KEY_COUNTERS = [
  "requests",
  "replies",
  "queueFull",
  "deadlineExpired",
  "serviceNotFound",
  "workerLost",
  "redispatched",
  "workersExpired",
  "malformedFrontend",
  "malformedBackend",
  "sendFailures",
];

export interface RenderOptions {
  /** List every service, not only busy ones and ones without workers. */
  readonly allServices?: boolean;
}

/** A summary table over all brokers, then one section per reachable broker. */
export function renderStatus(
  results: readonly StatusResult[],
  options: RenderOptions = {},
): string {
  const summary = table(
    ["REGION", "STATE", "WORKERS", "FREE", "QUEUED", "INFLIGHT", "CLIENTS", "PEERS", "ENDPOINT"],
    results.map((r) => {
      if (!r.ok) return [r.region, r.state, "-", "-", "-", "-", "-", "-", r.endpoint];
      const s = r.status;
      return [
        r.region,
        s.state,
        String(s.workers.length),
        String(s.freeCapacity),
        String(s.services.reduce((n, x) => n + x.queued, 0)),
        String(s.workers.reduce((n, w) => n + w.inflight, 0)),
        String(s.clients),
        s.peers ? `${s.peers.filter((p) => p.alive).length}/${s.peers.length} alive` : "-",
        r.endpoint,
      ];
    }),
    new Set([2, 3, 4, 5, 6]),
  );
  const sections = results.map((r) =>
    r.ok
      ? renderBroker(r.region, r.endpoint, r.status, options)
      : `${r.region}  ${r.endpoint}\n  ${r.state}: ${r.error}`,
  );
  return [summary, ...sections].join("\n\n") + "\n";
}

function renderBroker(
  region: string,
  endpoint: string,
  s: BrokerSnapshot,
  options: RenderOptions,
): string {
  const hb = s.heartbeat
    ? `, heartbeat ${s.heartbeat.intervalMs} ms × ${s.heartbeat.liveness}`
    : "";
  const out = [`${region}  ${endpoint}  ${s.state}${hb}, ${s.pending} pending`];

  out.push(`  workers (${s.workers.length})`);
  if (s.workers.length > 0)
    out.push(
      indent(
        table(
          ["ID", "DIALECT", "CREDIT", "INFLIGHT", "LAST SEEN", "SERVICES"],
          s.workers.map((w) => [
            w.id + (w.draining ? " (draining)" : ""),
            w.dialect,
            String(w.credit),
            String(w.inflight),
            w.lastSeenMsAgo === undefined ? "-" : `${w.lastSeenMsAgo} ms ago`,
            serviceList(w.services),
          ]),
          new Set([2, 3, 4]),
        ),
      ),
    );

  const shown = options.allServices
    ? s.services
    : s.services.filter((x) => x.queued > 0 || x.inflight > 0 || x.workers === 0);
  const hidden = s.services.length - shown.length;
  out.push(
    `  services (${s.services.length}${hidden > 0 ? `; ${hidden} idle not listed, --all lists them` : ""})`,
  );
  if (shown.length > 0)
    out.push(
      indent(
        table(
          ["NAME", "WORKERS", "QUEUED", "INFLIGHT", "FREE"],
          [...shown]
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((x) => [
              x.name,
              String(x.workers),
              String(x.queued),
              String(x.inflight),
              String(x.freeCredit),
            ]),
          new Set([1, 2, 3, 4]),
        ),
      ),
    );

  if (s.peers) {
    out.push(`  peers (${s.peers.length})`);
    if (s.peers.length > 0)
      out.push(
        indent(
          table(
            ["NAME", "ALIVE", "CAPACITY", "INFLIGHT", "HEARD"],
            s.peers.map((p) => [
              p.name,
              p.alive ? "yes" : "no",
              String(p.capacity),
              p.inflight === undefined ? "-" : String(p.inflight),
              p.ageMs === undefined ? "never" : `${p.ageMs} ms ago`,
            ]),
            new Set([2, 3]),
          ),
        ),
      );
  }

  const counters = [
    ...KEY_COUNTERS.filter((k) => k in s.counters),
    ...Object.keys(s.counters).filter((k) => !KEY_COUNTERS.includes(k) && s.counters[k] !== 0),
  ].map((k) => `${k} ${s.counters[k]}`);
  if (counters.length > 0) out.push(`  counters: ${counters.join(", ")}`);
  return out.join("\n");
}

function serviceList(services: readonly string[]): string {
  const head = services.slice(0, 3).join(", ");
  return services.length > 3 ? `${services.length}: ${head}, …` : head;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}

/** Left-aligned columns (right-aligned where listed), two spaces apart, no trailing blanks. */
function table(headers: string[], rows: string[][], right = new Set<number>()): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
