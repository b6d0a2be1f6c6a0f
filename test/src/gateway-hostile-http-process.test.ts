/**
 * Hostile HTTP input against a real cluster: five `geomesh broker` processes, a worker per
 * region and a `geomesh gateway` process on embedded stores. A few thousand generated malformed
 * requests (fast-check, fixed seeds; see helpers/hostile-http-cases.ts) go over real HTTP, plus
 * raw-socket garbage and slowloris connections. Every answer must be a 4xx geomesh error body
 * whose status is the HTTP status; afterwards the gateway is alive and healthy and the stored
 * places are exactly what was seeded.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ClusterConfigInput, defaultClusterInput } from "@geomesh/config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Expectation,
  type HttpCase,
  LAND,
  type RawCase,
  SEEDED_IDS,
  httpCases,
  rawCases,
  slowlorisChunks,
} from "./helpers/hostile-http-cases.js";
import { GeomeshProcess, freePort, freePortRange } from "./helpers/processes.js";
import { type RawAnswer, rawExchange } from "./helpers/raw-http.js";

const SEED = 20_261_201;
const HB = { intervalMs: 500, liveness: 3 };
const REGIONS = ["NE", "South", "MW", "SW", "CA"];
/** Requests in flight at once (the machine is small and shared). */
const CONCURRENCY = 8;
const LOG_ENV = { GEOMESH_LOG_LEVEL: "info" };

const procs = new Map<string, GeomeshProcess>();
let dir = "";
let input: ClusterConfigInput;
let gatewayPort = 0;
let base = "";
let seededFingerprint: string[] = [];

function writeConfig(name: string, gateway: ClusterConfigInput["gateway"]): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ ...input, heartbeat: HB, gateway }));
  return path;
}

/**
 * Starts a gateway process; resolves with its URL once every region's broker answers with a
 * worker behind it (`/v1/cluster`), or — where requests are counted by a rate limit — once
 * `/readyz` says so.
 */
async function startGateway(
  name: string,
  config: string,
  port: number,
  wait: "cluster" | "readyz",
): Promise<string> {
  const gw = new GeomeshProcess(["--config", config, "gateway"], LOG_ENV);
  procs.set(name, gw);
  await gw.waitForLog(/^gateway listening$/, 90_000);
  const url = `http://127.0.0.1:${port}`;
  if (wait === "readyz") {
    for (let i = 0; (await fetch(`${url}/readyz`).catch(() => undefined))?.status !== 200; i++) {
      if (i > 300) throw new Error("gateway not ready");
      await sleep(200);
    }
    return url;
  }
  for (let i = 0; ; i++) {
    const res = await fetch(`${url}/v1/cluster`).catch(() => undefined);
    const regions = res?.ok
      ? (
          (await res.json()) as {
            regions: Record<string, { reachable: boolean; workers?: number }>;
          }
        ).regions
      : {};
    if (REGIONS.every((r) => regions[r]?.reachable && (regions[r].workers ?? 0) > 0)) break;
    if (i > 300) throw new Error(`cluster not ready: ${JSON.stringify(regions)}`);
    await sleep(200);
  }
  return url;
}

interface Feature {
  id: string;
  geometry: unknown;
  properties: Record<string, unknown>;
}

/** Everything stored (one within-the-world search, paged) plus each seeded place by id. */
async function fingerprint(): Promise<string[]> {
  const rows: string[] = [];
  let cursor: string | undefined;
  do {
    const res = await fetch(`${base}/v1/places/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        within: {
          box: [
            [-180, -90],
            [180, 90],
          ],
        },
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      }),
    });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { features: Feature[]; next?: string };
    for (const f of page.features)
      rows.push(`search ${JSON.stringify([f.id, f.geometry, f.properties])}`);
    cursor = page.next;
  } while (cursor);
  for (const id of SEEDED_IDS) {
    const res = await fetch(`${base}/v1/places/${id}`);
    rows.push(`get ${id} ${res.status} ${await res.text()}`);
  }
  return rows.sort();
}

/** Why an answer breaks the contract, or undefined when it is a proper 4xx geomesh error. */
function violation(
  status: number,
  contentType: string,
  text: string,
  expect: Expectation | undefined,
): string | undefined {
  if (status < 400 || status > 499) return `status ${status}`;
  if (expect?.status !== undefined && status !== expect.status)
    return `status ${status}, expected ${expect.status}`;
  if (!/^application\/json\b/i.test(contentType)) return `content-type ${contentType || "none"}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return "body is not JSON";
  }
  const { error, status: bodyStatus } = (body ?? {}) as { error?: unknown; status?: unknown };
  const { code, message } = (typeof error === "object" && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
  };
  if (typeof code !== "string" || code === "" || typeof message !== "string" || !message.trim())
    return "body is not {error:{code,message},status}";
  if (bodyStatus !== status) return `body status ${String(bodyStatus)} ≠ HTTP status ${status}`;
  if (expect?.codes && !expect.codes.includes(code))
    return `code ${code}, expected ${expect.codes.join(" or ")}`;
  return undefined;
}

/** Per category: what was sent, how it was answered, what broke the contract. */
class Tally {
  private readonly rows = new Map<
    string,
    {
      sent: number;
      answers: Map<string, number>;
      bad: number;
      sampled: Set<string>;
      samples: string[];
    }
  >();

  /** `answer` is the histogram key (status and code); `exchange` describes the request and its answer. */
  add(category: string, answer: string, problem: string | undefined, exchange: string): void {
    let row = this.rows.get(category);
    if (!row) {
      row = { sent: 0, answers: new Map(), bad: 0, sampled: new Set(), samples: [] };
      this.rows.set(category, row);
    }
    row.sent++;
    row.answers.set(answer, (row.answers.get(answer) ?? 0) + 1);
    if (problem) {
      row.bad++;
      // One sample per kind of answer, so each distinct failure shows.
      if (!row.sampled.has(answer) && row.sampled.size < 4) {
        row.sampled.add(answer);
        row.samples.push(`${problem} — ${exchange}`);
      }
    }
  }

  get total(): number {
    return [...this.rows.values()].reduce((n, r) => n + r.sent, 0);
  }

  print(title: string): void {
    const lines = [...this.rows].map(
      ([category, r]) =>
        `  ${category.padEnd(38)} ${String(r.sent).padStart(5)}  ${[...r.answers]
          .sort((a, b) => b[1] - a[1])
          .map(([a, n]) => `${n}× ${a}`)
          .join(", ")}`,
    );
    console.log(`${title}: ${this.total} requests\n${lines.join("\n")}`);
  }

  /** One line per category with violations, with samples. */
  violations(): string[] {
    return [...this.rows].flatMap(([category, r]) =>
      r.bad === 0 ? [] : [`${category}: ${r.bad} of ${r.sent}:\n    ${r.samples.join("\n    ")}`],
    );
  }
}

function preview(body: Buffer | undefined): string {
  if (!body) return "";
  const s = body.toString("utf8");
  return s.length > 160
    ? ` ${JSON.stringify(s.slice(0, 160))}… (${body.length} bytes)`
    : ` ${JSON.stringify(s)}`;
}

/** Status and code of an answer: the geomesh (or Fastify) code, else what kind of body it has. */
function answerKey(status: number, text: string): string {
  const code = /"code":"([A-Z_]+)"/.exec(text)?.[1];
  return `${status} ${code ?? (text === "" ? "(empty body)" : "(no code)")}`;
}

function short(text: string, n = 200): string {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

async function pool<T>(
  items: readonly T[],
  n: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function sendHttp(c: HttpCase, tally: Tally): Promise<void> {
  const request = `${c.method} ${short(c.path, 120)}${preview(c.body)}`;
  try {
    const res = await fetch(`${base}${c.path}`, {
      method: c.method,
      headers: c.headers,
      redirect: "manual",
      signal: AbortSignal.timeout(30_000),
      ...(c.body ? { body: c.body } : {}),
    });
    const text = await res.text();
    tally.add(
      c.category,
      answerKey(res.status, text),
      violation(res.status, res.headers.get("content-type") ?? "", text, c.expect),
      `${request} → ${res.status} ${short(text)}`,
    );
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? String(err);
    // The gateway refuses a body over 1 MiB from its Content-Length and closes without reading
    // it, so the upload may break (EPIPE/ECONNRESET) before the answer is read: no answer to judge.
    const cutOff =
      (c.body?.length ?? 0) > 1024 * 1024 &&
      ["EPIPE", "ECONNRESET", "UND_ERR_SOCKET"].includes(cause);
    tally.add(c.category, `no answer (${cause})`, cutOff ? undefined : "no answer", request);
  }
}

function judgeRaw(answer: RawAnswer, expect: Expectation | undefined): string | undefined {
  return violation(answer.status, answer.headers["content-type"] ?? "", answer.body, expect);
}

async function sendRaw(c: RawCase, tally: Tally): Promise<void> {
  const request = JSON.stringify(short(Buffer.concat(c.chunks).toString("latin1"), 120));
  const outcome = await rawExchange(gatewayPort, c.chunks, { timeoutMs: 3000 });
  switch (outcome.kind) {
    case "silent":
      // No answer at all (closed, reset, or still waiting for the rest): nothing to judge.
      tally.add(c.category, `no answer (${outcome.how})`, undefined, request);
      return;
    case "garbled":
      tally.add(
        c.category,
        "garbled",
        "not an HTTP answer",
        `${request} → ${JSON.stringify(outcome.bytes)}`,
      );
      return;
    case "answer": {
      const { status, body } = outcome.answer;
      tally.add(
        c.category,
        answerKey(status, body),
        judgeRaw(outcome.answer, c.expect),
        `${request} → ${status} ${JSON.stringify(short(body))}`,
      );
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geomesh-hostile-"));
  input = defaultClusterInput({
    dataDir: dir,
    basePort: await freePortRange(50),
    workersPerRegion: 1,
  });
  gatewayPort = await freePort();
  // The limiter is off here (max 0), so no answer turns into a 429; its own case is below.
  const config = writeConfig("geomesh.config.json", {
    host: "127.0.0.1",
    port: gatewayPort,
    rateLimit: { max: 0, windowMs: 60_000 },
  });
  for (const region of REGIONS)
    procs.set(
      `broker-${region}`,
      new GeomeshProcess(["--config", config, "broker", "--region", region], LOG_ENV),
    );
  await Promise.all(
    REGIONS.map((r) => procs.get(`broker-${r}`)!.waitForLog(/^broker started$/, 60_000)),
  );
  for (const region of REGIONS)
    procs.set(
      `worker-${region}`,
      new GeomeshProcess(
        ["--config", config, "worker", "--region", region, "--concurrency", "4"],
        LOG_ENV,
      ),
    );
  await Promise.all(
    REGIONS.map((r) => procs.get(`worker-${r}`)!.waitForLog(/^worker registered$/, 90_000)),
  );
  base = await startGateway("gateway", config, gatewayPort, "cluster");

  for (const [i, id] of SEEDED_IDS.entries()) {
    const res = await fetch(`${base}/v1/places/${id}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: `Seed ${id}`,
        category: i % 2 === 0 ? "cafe" : "park",
        location: { type: "Point", coordinates: LAND[i] },
        tags: ["seed"],
        properties: { rank: i },
      }),
    });
    expect(res.status, await res.text()).toBe(200);
  }
  seededFingerprint = await fingerprint();
  expect(seededFingerprint.filter((r) => r.startsWith("search "))).toHaveLength(SEEDED_IDS.length);
}, 300_000);

afterAll(async () => {
  await Promise.all([...procs.values()].map((p) => p.destroy()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the gateway under hostile HTTP input", () => {
  it("answers each of thousands of generated malformed requests with a 4xx error body whose status matches", async () => {
    const cases = httpCases(SEED);
    expect(cases.length).toBeGreaterThanOrEqual(3000);
    const tally = new Tally();
    const started = Date.now();
    await pool(cases, CONCURRENCY, (c) => sendHttp(c, tally));
    tally.print(`malformed HTTP requests (${Date.now() - started} ms)`);
    expect(tally.violations()).toEqual([]);
  }, 600_000);

  it("answers raw-socket garbage with a 4xx error body, or closes the connection without one", async () => {
    const tally = new Tally();
    const started = Date.now();
    await pool(rawCases(SEED), 16, (c) => sendRaw(c, tally));
    tally.print(`raw-socket requests (${Date.now() - started} ms)`);
    expect(tally.violations()).toEqual([]);
  }, 300_000);

  it("keeps answering other clients while slowloris connections trickle headers that never end", async () => {
    const tally = new Tally();
    const lorises = Array.from({ length: 40 }, (_, i) =>
      rawExchange(gatewayPort, slowlorisChunks(i), { gapMs: 150, timeoutMs: 3000 }),
    );
    await sleep(500);
    const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
    expect(health.status).toBe(200);
    const bad = await fetch(`${base}/v1/places/near?lng=x&lat=1`, {
      signal: AbortSignal.timeout(2000),
    });
    expect(bad.status).toBe(400);
    for (const outcome of await Promise.all(lorises)) {
      if (outcome.kind === "silent")
        tally.add("slowloris", `no answer (${outcome.how})`, undefined, "partial headers");
      else if (outcome.kind === "garbled")
        tally.add("slowloris", "garbled", "not an HTTP answer", "partial headers");
      else
        tally.add(
          "slowloris",
          answerKey(outcome.answer.status, outcome.answer.body),
          judgeRaw(outcome.answer, undefined),
          `partial headers → ${outcome.answer.status} ${short(outcome.answer.body)}`,
        );
    }
    tally.print("slowloris connections");
    expect(tally.violations()).toEqual([]);
  }, 60_000);

  it("is still running and healthy afterwards, with no unexpected failure in its log", async () => {
    for (const [name, p] of procs) expect(p.alive, `${name} exited`).toBe(true);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const failures = procs
      .get("gateway")!
      .lines.filter((l) => (l.level ?? 0) >= 50)
      .map((l) => short(JSON.stringify(l), 400));
    expect(failures).toEqual([]);
  });

  it("wrote nothing: the stored places are exactly the seeded ones", async () => {
    expect(await fingerprint()).toEqual(seededFingerprint);
  });

  it("answers 429 RATE_LIMITED with Retry-After once a client passes gateway.rateLimit.max", async () => {
    const port = await freePort();
    const config = writeConfig("rate-limited.config.json", {
      host: "127.0.0.1",
      port,
      rateLimit: { max: 5, windowMs: 60_000 },
    });
    const url = await startGateway("gateway-rate-limited", config, port, "readyz");
    const near = `${url}/v1/places/near?lng=-74&lat=40.7&limit=1`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(near);
      await res.text();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const over = await fetch(near);
    expect(over.status).toBe(429);
    const body = (await over.json()) as {
      error: { code: string; message: string };
      status: number;
    };
    expect(body).toMatchObject({ status: 429, error: { code: "RATE_LIMITED" } });
    expect(body.error.message.length).toBeGreaterThan(0);
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
      `Retry-After ${over.headers.get("retry-after")}`,
    ).toBe(true);
    // Health checks are not rate limited.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  }, 120_000);
});
