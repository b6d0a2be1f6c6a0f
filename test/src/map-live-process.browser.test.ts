/**
 * The acceptance check, for real: `geomesh up --gateways 2` (what `npm start` runs, here
 * with a temp data dir, free loopback ports, one worker per region and no sample data) prints two
 * `HTTP API:` URLs; the first one's map page, in headless Chromium (Debian's, driven by
 * playwright-core, no mocks), follows the live feed of its view when its toggle is clicked; a plain
 * WebSocket client on the second gateway subscribes to the same box. Writes through the second
 * gateway's HTTP API (create, move out to another region, delete) must show on the page (events
 * list, markers) and reach the WebSocket client as `created`, `exit` and `deleted`.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { defaultRegionMap, parseWithinBody } from "@geomesh/geo";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  GeomeshProcess,
  childrenOf,
  freePortRange,
  isAlive,
  type LogLine,
} from "./helpers/processes.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const requireBrowser = process.env.REQUIRE_BROWSER === "1";
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));

/** The page's view in its URL (`#zoom/lat/lng`, see map.js): New York City and around. */
const VIEW = "#9/40.75/-73.95";

type LngLat = [number, number];
type Box = [LngLat, LngLat];

/** Places written during the test: two inside the view (NE), and where the first one moves. */
const MIDTOWN = { id: "live-midtown", name: "Midtown pop-up", at: [-73.9857, 40.7484] as LngLat };
const BROOKLYN = { id: "live-brooklyn", name: "Brooklyn kiosk", at: [-73.9442, 40.6782] as LngLat };
const HOBOKEN = {
  id: "live-hoboken",
  name: "Hoboken ferry cafe",
  at: [-74.0279, 40.7359] as LngLat,
};
/** Far from the view, in another region (MW): a move there leaves the view's area. */
const CHICAGO: LngLat = [-87.6298, 41.8781];

/** A message from `WS /v1/live` (docs/protocol.md), as far as the test reads it. */
interface LiveMessage {
  readonly type: string;
  readonly id?: string;
  readonly subscription?: string;
  readonly kind?: string;
  readonly region?: string;
  readonly seq?: number;
  readonly regions?: string[];
  readonly place?: { properties?: { name?: string } };
}

/** What the page sent on its live socket. */
interface PageFrame {
  readonly op: string;
  readonly id?: string;
  readonly area?: { box?: Box };
}

/** Polls until the expectation holds (processes and the page work asynchronously). */
const poll = <T>(fn: () => T | Promise<T>, timeout = 20_000) => expect.poll(fn, { timeout });

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The regions a box's subscription follows (the box plus 50 km), as the gateway decides. */
const regionsOf = (box: Box) => defaultRegionMap().regionsForShape(parseWithinBody({ box }).shape);

const inBox = ([lng, lat]: LngLat, [[w, s], [e, n]]: Box) =>
  lng >= w && lng <= e && lat >= s && lat <= n;

const title = haveChromium
  ? "map page of `geomesh up --gateways 2` in headless Chromium, live"
  : requireBrowser
    ? `map page of geomesh up, live (REQUIRE_BROWSER=1, but ${CHROMIUM} not found)`
    : `map page of geomesh up, live (skipped: ${CHROMIUM} not found; apt-get install chromium)`;

describe.skipIf(!haveChromium && !requireBrowser)(title, () => {
  let dir = "";
  let profile = "";
  let up: GeomeshProcess | undefined;
  /** Every child pid of `up` seen, so cleanup reaches them even if `up` itself died. */
  const seenPids = new Set<number>();
  let gateways: string[] = [];
  let browser: BrowserContext | undefined;
  let page: Page;
  let client: WebSocket | undefined;
  /** What the WebSocket client on gateway 2 received. */
  const received: LiveMessage[] = [];
  const requested: string[] = [];
  const sockets: string[] = [];
  const problems: string[] = [];
  const pageSent: PageFrame[] = [];
  const pageGot: LiveMessage[] = [];

  beforeAll(async () => {
    if (!haveChromium)
      throw new Error(
        `REQUIRE_BROWSER=1 but ${CHROMIUM} does not exist: install it (apt-get install -y chromium)`,
      );
    dir = mkdtempSync(join(tmpdir(), "geomesh-map-live-"));
    const basePort = await freePortRange(50);
    // up puts the gateways on consecutive ports, here outside the brokers' 50.
    let gatewayPort = await freePortRange(2);
    while (gatewayPort + 2 > basePort && gatewayPort < basePort + 50)
      gatewayPort = await freePortRange(2);
    up = new GeomeshProcess(
      [
        "up",
        "--gateways",
        "2",
        "--no-sample-data",
        "--workers",
        "1",
        "--data-dir",
        dir,
        "--base-port",
        String(basePort),
        "--gateway-port",
        String(gatewayPort),
      ],
      { GEOMESH_LOG_LEVEL: "info" },
    );
    await up.waitForLog(/^Press Ctrl-C to stop\.$/, 240_000);
    for (const { pid } of childrenOf(up.pid!)) seenPids.add(pid);
    // One line per gateway, "HTTP API: http://127.0.0.1:<port>/…": the map is at its origin's `/`.
    gateways = up.lines
      .map((l: LogLine) =>
        typeof l.msg === "string" ? /^HTTP API: (http:\/\/\S+)/.exec(l.msg) : null,
      )
      .flatMap((m) => (m ? [new URL(m[1]!).origin] : []));
    expect(gateways).toEqual([
      `http://127.0.0.1:${gatewayPort}`,
      `http://127.0.0.1:${gatewayPort + 1}`,
    ]);

    profile = mkdtempSync(join(tmpdir(), "geomesh-chromium-"));
    // A fresh profile (Playwright takes it as the persistent context's user data dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage();
    page.on("request", (r) => requested.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    // Watched, not routed: the page talks to the real gateway.
    page.on("websocket", (ws) => {
      sockets.push(ws.url());
      ws.on("framesent", (f) => pageSent.push(JSON.parse(String(f.payload)) as PageFrame));
      ws.on("framereceived", (f) => pageGot.push(JSON.parse(String(f.payload)) as LiveMessage));
    });
  }, 300_000);

  afterAll(async () => {
    client?.terminate();
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (up?.alive) {
      for (const { pid } of childrenOf(up.pid!)) seenPids.add(pid);
      up.kill("SIGINT"); // up stops its children gracefully
      await Promise.race([up.exited, sleep(60_000)]);
    }
    await up?.destroy();
    for (const pid of seenPids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** PUT or DELETE /v1/places/{id} through gateway 2; returns the region that took it. */
  async function write(method: "PUT" | "DELETE", id: string, body?: unknown): Promise<string> {
    const res = await fetch(`${gateways[1]}/v1/places/${encodeURIComponent(id)}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    expect(res.status, `${method} ${id}: ${text}`).toBe(200);
    return (JSON.parse(text) as { region: string }).region;
  }

  const put = (p: { id: string; name: string }, at: LngLat) =>
    write("PUT", p.id, {
      name: p.name,
      category: "cafe",
      location: { type: "Point", coordinates: at },
    });

  /** The ws client's event for `id` of `kind`, once it arrived. */
  async function clientEvent(id: string, kind: string): Promise<LiveMessage> {
    const find = () => received.find((m) => m.type === "event" && m.id === id && m.kind === kind);
    await poll(() => find() !== undefined, 20_000).toBe(true);
    return find()!;
  }

  /** The page's events list, newest first. */
  const eventRows = () => page.locator("#events li").allInnerTexts();
  const liveMarker = (name: string) =>
    page.locator(`.leaflet-marker-icon.gm-live[title="${name}"]`);

  /** Waits for the page's events list to show `kind name region #seq`. */
  async function pageShows(kind: string, name: string, event: LiveMessage): Promise<void> {
    const row = new RegExp(`${kind}\\s*${escape(name)}\\s*${event.region} #${event.seq}`);
    await poll(async () => (await eventRows()).some((r) => row.test(r))).toBe(true);
  }

  it("prints two HTTP API URLs, and the first one's / shows the map of the five regions", async () => {
    await page.goto(`${gateways[0]}/${VIEW}`);
    await page.waitForSelector("path.gm-region[data-region]");
    expect(await page.locator("path.gm-region").count()).toBe(5);
    await poll(() => page.locator("#gateway-state").innerText()).toBe("gateway up");
    const rows = page.locator("#cluster-table tbody tr");
    await poll(() => rows.count()).toBe(5);
    await poll(() => page.locator("#cluster-summary").innerText()).toMatch(
      /^5\/5 brokers up · 5 workers/,
    );
    expect(new URL(page.url()).hash).toBe(VIEW);
  });

  it("subscribes the page's live feed to its view when the toggle is clicked", async () => {
    expect(await page.locator("#live-state").innerText()).toBe("off");
    await page.click("#live-toggle");
    expect(await page.isChecked("#live-toggle")).toBe(true);
    await poll(() => page.locator("#live-state").getAttribute("data-state")).toBe("live");
    // The page asked the real gateway for its view, and shows what the gateway answered.
    const subscribe = pageSent.find((m) => m.op === "subscribe")!;
    const box = subscribe.area!.box!;
    for (const p of [MIDTOWN.at, BROOKLYN.at, HOBOKEN.at]) expect(inBox(p, box)).toBe(true);
    expect(inBox(CHICAGO, box)).toBe(false);
    // New York's view reaches within 50 km of Delaware: South is followed too.
    const regions = regionsOf(box);
    expect(regions).toContain("NE");
    expect(pageGot).toContainEqual({ type: "subscribed", id: subscribe.id, regions });
    expect(await page.locator("#live-state").innerText()).toBe(`live · ${regions.join(", ")}`);
  });

  it("connects a WebSocket client to the second gateway with a subscription to the same box", async () => {
    const box = pageSent.find((m) => m.op === "subscribe")!.area!.box!;
    const url = `${gateways[1]!.replace(/^http:/, "ws:")}/v1/live`;
    const ws = new WebSocket(url);
    client = ws;
    ws.on("message", (data: Buffer) =>
      received.push(JSON.parse(data.toString("utf8")) as LiveMessage),
    );
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ op: "subscribe", id: "nyc", area: { box } }));
    await poll(() => received.find((m) => m.id === "nyc")).toEqual({
      type: "subscribed",
      id: "nyc",
      regions: regionsOf(box),
    });
  });

  it("shows a place written through the second gateway live, and the ws client there gets `created`", async () => {
    expect(await put(MIDTOWN, MIDTOWN.at)).toBe("NE");
    const event = await clientEvent(MIDTOWN.id, "created");
    expect(event).toMatchObject({ subscription: "nyc", region: "NE" });
    expect(event.place?.properties?.name).toBe(MIDTOWN.name);
    await pageShows("created", MIDTOWN.name, event);
    await poll(() => liveMarker(MIDTOWN.name).count()).toBe(1);

    expect(await put(BROOKLYN, BROOKLYN.at)).toBe("NE");
    await pageShows("created", BROOKLYN.name, await clientEvent(BROOKLYN.id, "created"));
    await poll(() => liveMarker(BROOKLYN.name).count()).toBe(1);
  });

  it("shows a place moved out of the area (to another region) leave, and the ws client gets `exit`", async () => {
    expect(await put(MIDTOWN, CHICAGO)).toBe("MW");
    const event = await clientEvent(MIDTOWN.id, "exit");
    // The old region's event carries the exit (docs/protocol.md, moves across regions).
    expect(event).toMatchObject({ subscription: "nyc", region: "NE" });
    await pageShows("exit", MIDTOWN.name, event);
    await poll(() => liveMarker(MIDTOWN.name).count()).toBe(0);
    expect(await liveMarker(BROOKLYN.name).count()).toBe(1);
  });

  it("shows a deleted place go, and the ws client gets `deleted`", async () => {
    expect(await write("DELETE", BROOKLYN.id)).toBe("NE");
    const event = await clientEvent(BROOKLYN.id, "deleted");
    expect(event).toMatchObject({ subscription: "nyc", region: "NE" });
    await pageShows("deleted", BROOKLYN.name, event);
    await poll(() => liveMarker(BROOKLYN.name).count()).toBe(0);
  });

  it("gave the page and the ws client the same events, in seq order, and nothing else", async () => {
    // One more place that stays, for the screenshot; then every feed has all it will get.
    expect(await put(HOBOKEN, HOBOKEN.at)).toBe("NE");
    await pageShows("created", HOBOKEN.name, await clientEvent(HOBOKEN.id, "created"));
    const events = (list: LiveMessage[]) =>
      list.filter((m) => m.type === "event").map((m) => `${m.region} #${m.seq} ${m.id} ${m.kind}`);
    const want = [
      [MIDTOWN.id, "created"],
      [BROOKLYN.id, "created"],
      [MIDTOWN.id, "exit"],
      [BROOKLYN.id, "deleted"],
      [HOBOKEN.id, "created"],
    ];
    const got = events(received);
    expect(got.map((e) => e.split(" ").slice(2).join(" "))).toEqual(want.map((w) => w.join(" ")));
    const seqs = got.map((e) => Number(e.split(" ")[1]!.slice(1)));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(events(pageGot)).toEqual(got);
    expect(received.filter((m) => m.type !== "event" && m.type !== "subscribed")).toEqual([]);
    expect(pageGot.filter((m) => m.type !== "event" && m.type !== "subscribed")).toEqual([]);
    // Newest first: the page's list says the same.
    expect(
      (await eventRows()).map((r) => /(created|updated|enter|exit|deleted)/.exec(r)?.[1]),
    ).toEqual(want.map((w) => w[1]).reverse());
  });

  it("keeps a screenshot of the live page as a test artifact", async () => {
    await liveMarker(HOBOKEN.name).waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    // The marker flash finished, not caught half way.
    await page.screenshot({ path: join(ARTIFACTS, "map-live.png"), animations: "disabled" });
    expect(statSync(join(ARTIFACTS, "map-live.png")).size).toBeGreaterThan(10_000);
  });

  it("made no request to anything but the first gateway, and logged no error", () => {
    const base = gateways[0]!;
    const foreign = requested.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith("data:"));
    expect(foreign).toEqual([]);
    expect(requested).toContain(`${base}/assets/leaflet/leaflet-src.esm.js`);
    expect(sockets).toEqual([`${base.replace(/^http:/, "ws:")}/v1/live`]);
    for (const u of [...requested, ...sockets].filter((x) => !x.startsWith("data:")))
      expect(new URL(u).hostname).toBe("127.0.0.1");
    expect(problems).toEqual([]);
  });
});
