import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, type Page, type WebSocketRoute, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterView, RegionStatus } from "./cluster-view.js";
import { type AppFixture, appFixture, place } from "./testing/app-fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const requireBrowser = process.env.REQUIRE_BROWSER === "1";
const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/", import.meta.url));

/** The page's view in its URL (`#zoom/lat/lng`): known, so map points have known pixels. */
const VIEW = "#4.25/38.5/-96.5";

const CITIES = [
  ["nyc", "New York", -74.006, 40.7128],
  ["bos", "Boston", -71.0589, 42.3601],
  ["phl", "Philadelphia", -75.1652, 39.9526],
  ["pit", "Pittsburgh", -79.9959, 40.4406],
  ["atl", "Atlanta", -84.388, 33.749],
  ["mia", "Miami", -80.1918, 25.7617],
  ["bna", "Nashville", -86.7816, 36.1627],
  ["chi", "Chicago", -87.6298, 41.8781],
  ["ict", "Wichita", -97.3301, 37.6872],
  ["msp", "Minneapolis", -93.265, 44.9778],
  ["dal", "Dallas", -96.797, 32.7767],
  ["den", "Denver", -104.9903, 39.7392],
  ["phx", "Phoenix", -112.074, 33.4484],
  ["lax", "Los Angeles", -118.2437, 34.0522],
  ["sfo", "San Francisco", -122.4194, 37.7749],
  ["sea", "Seattle", -122.3321, 47.6062],
] as const;

const peers = (alive: number): NonNullable<RegionStatus["peers"]> =>
  ["a", "b", "c", "d"].map((name, i) => ({ name, alive: i < alive, capacity: 4 }));

/** A cluster with every kind of region: saturated, down, idle, busy. */
const cluster: ClusterView = {
  regionStatus: () =>
    Promise.resolve({
      NE: { reachable: true, workers: 2, freeCapacity: 1, queued: 4, pending: 6, peers: peers(3) },
      South: { reachable: false },
      MW: { reachable: true, workers: 2, freeCapacity: 8, queued: 0, pending: 0, peers: peers(3) },
      SW: { reachable: true, workers: 2, freeCapacity: 3, queued: 0, pending: 5, peers: peers(3) },
      CA: { reachable: true, workers: 3, freeCapacity: 2, queued: 1, pending: 8, peers: peers(3) },
    }),
  ready: () => Promise.resolve({ ready: true, detail: {} }),
};

/** Web Mercator, as Leaflet draws it: world pixels at a zoom. */
function project(lng: number, lat: number, zoom: number): { x: number; y: number } {
  const scale = 256 * 2 ** zoom;
  const sin = Math.sin((lat * Math.PI) / 180);
  return {
    x: ((lng + 180) / 360) * scale,
    y: (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * scale,
  };
}

/** Where a lng/lat is on the screen, from the view the page keeps in its URL. */
async function toScreen(page: Page, lng: number, lat: number): Promise<{ x: number; y: number }> {
  const hash = new URL(page.url()).hash;
  const [zoom, cLat, cLng] = hash.slice(1).split("/").map(Number) as [number, number, number];
  const box = (await page.locator("#map").boundingBox())!;
  const c = project(cLng, cLat, zoom);
  const p = project(lng, lat, zoom);
  return { x: box.x + box.width / 2 + p.x - c.x, y: box.y + box.height / 2 + p.y - c.y };
}

/** Polls until the expectation holds (the page works asynchronously). */
const poll = <T>(fn: () => T | Promise<T>, timeout = 10_000) => expect.poll(fn, { timeout });

const resultMarkers = (page: Page) => page.locator(".leaflet-marker-icon.gm-result");

/** The names (marker titles) of the result markers on the map, sorted. */
async function resultNames(page: Page): Promise<string[]> {
  const markers = await resultMarkers(page).all();
  return (await Promise.all(markers.map((m) => m.getAttribute("title")))).map(String).sort();
}

const title = haveChromium
  ? "map page in headless Chromium"
  : requireBrowser
    ? `map page in headless Chromium (REQUIRE_BROWSER=1, but ${CHROMIUM} not found)`
    : `map page in headless Chromium (skipped: ${CHROMIUM} not found; apt-get install chromium)`;

describe.skipIf(!haveChromium && !requireBrowser)(title, () => {
  let fixture: AppFixture;
  let browser: BrowserContext;
  let page: Page;
  let base: string;
  let profile: string;
  const requested: string[] = [];
  const problems: string[] = [];
  /** The mocked live feed's sockets and what the page sent on them. */
  const sockets: WebSocketRoute[] = [];
  const sent: { op: string; id: string; area?: { box: number[][] } }[] = [];

  beforeAll(async () => {
    if (!haveChromium)
      throw new Error(
        `REQUIRE_BROWSER=1 but ${CHROMIUM} does not exist: install it (apt-get install -y chromium)`,
      );
    fixture = await appFixture({ cluster });
    await fixture.coordinator.execute("place.upsert", {
      places: CITIES.map(([id, name, lng, lat]) => ({ ...place(id, lng, lat), name })),
    });
    await fixture.app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(fixture.app.server.address() as AddressInfo).port}`;

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
    page = await openPage();
  }, 60_000);

  /** A fresh page at VIEW that records its requests and errors, with the live feed mocked. */
  async function openPage(): Promise<Page> {
    const p = await browser.newPage();
    p.on("request", (r) => requested.push(r.url()));
    p.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console: ${m.text()}`);
    });
    p.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    // The live feed is mocked in the page (its server side is built elsewhere): the test plays the
    // gateway's part of the WS /v1/live contract.
    await p.routeWebSocket(/\/v1\/live$/, (ws) => {
      sockets.push(ws);
      ws.onMessage((data) => {
        const msg = JSON.parse(String(data)) as (typeof sent)[number];
        sent.push(msg);
        if (msg.op === "subscribe")
          ws.send(JSON.stringify({ type: "subscribed", id: msg.id, regions: ["NE", "South"] }));
      });
    });
    await p.goto(`${base}/${VIEW}`);
    await p.waitForSelector("path.gm-region[data-region]");
    return p;
  }

  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("draws the five region polygons coloured by load, unreachable ones grey", async () => {
    await page.waitForSelector("path.gm-region[data-region]");
    expect(await page.locator("path.gm-region").count()).toBe(5);
    expect(await page.locator('path[data-region="South"]').getAttribute("fill")).toBe("#8d939b");
    const ne = await page.locator('path[data-region="NE"]').getAttribute("fill");
    const mw = await page.locator('path[data-region="MW"]').getAttribute("fill");
    expect(ne).toMatch(/^hsl\(0,/); // saturated: red
    expect(mw).toMatch(/^hsl\(135,/); // idle: green
  });

  it("shows each region's broker, workers and queues in the cluster panel", async () => {
    const rows = page.locator("#cluster-table tbody tr");
    await poll(() => rows.count()).toBe(5);
    expect(await rows.locator("td:nth-child(2)").allTextContents()).toEqual([
      "up",
      "down",
      "up",
      "up",
      "up",
    ]);
    expect(await page.locator('tr[data-region="NE"]').innerText()).toMatch(
      /NE\s+up\s+2\s+1\s+4\s+6\s+3\/4/,
    );
    expect(await page.locator("#cluster-summary").innerText()).toContain("4/5 brokers up");
  });

  it("runs a near query where the map is clicked and shows the results as markers", async () => {
    await page.fill("#limit", "5");
    const at = await toScreen(page, -97.1, 37.8);
    await page.mouse.click(at.x, at.y);
    await poll(() => resultMarkers(page).count()).toBe(5);
    expect(await page.locator("#query-status").innerText()).toMatch(/^5 places near -97\.1/);
    expect(await page.locator("#results li .name").first().innerText()).toBe("Wichita");
  });

  it("opens a marker's popup with the place's name, category, region and distance", async () => {
    await page.locator('.gm-result[title="Wichita"]').click();
    const popup = page.locator(".leaflet-popup-content");
    await popup.waitFor();
    const text = await popup.innerText();
    expect(text).toContain("Wichita");
    expect(text).toContain("cafe · MW");
    expect(text).toMatch(/\d+(\.\d+)? km away/);
    expect(text).toContain("ict");
  });

  it("searches within a box dragged on the map", async () => {
    await page.fill("#limit", "25");
    await page.click('button[data-mode="box"]');
    const from = await toScreen(page, -81, 44);
    const to = await toScreen(page, -69.5, 38.5);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    await poll(() => page.locator("#query-status").innerText()).toBe("4 places in the box");
    const names = await resultNames(page);
    expect(names).toEqual(["Boston", "New York", "Philadelphia", "Pittsburgh"]);
    expect(await page.locator("path.gm-shape").count()).toBe(1); // the box stays drawn
  });

  it("searches within a polygon clicked out on the map", async () => {
    await page.click('button[data-mode="polygon"]');
    const corners = [
      [-126, 49.5],
      [-115, 49.5],
      [-115, 32.5],
      [-126, 32.5],
    ] as const;
    for (const [lng, lat] of corners.slice(0, -1)) {
      const p = await toScreen(page, lng, lat);
      await page.mouse.click(p.x, p.y);
    }
    const last = await toScreen(page, ...corners[3]);
    await page.mouse.dblclick(last.x, last.y);
    await poll(() => page.locator("#query-status").innerText()).toBe("3 places in the polygon");
    const names = await resultNames(page);
    expect(names).toEqual(["Los Angeles", "San Francisco", "Seattle"]);
  });

  it("subscribes the live feed to the map's view and shows arriving events", async () => {
    await page.click('button[data-mode="near"]');
    await page.check("#live-toggle");
    await poll(() => page.locator("#live-state").innerText()).toBe("live · NE, South");
    const subscribe = sent.find((m) => m.op === "subscribe")!;
    const [[w, s], [e, n]] = subscribe.area!.box as [[number, number], [number, number]];
    expect(w).toBeLessThan(-124);
    expect(e).toBeGreaterThan(-70);
    expect(s).toBeLessThan(26);
    expect(n).toBeGreaterThan(48);

    const event = (kind: string, id: string, name: string, lng: number, lat: number, seq: number) =>
      JSON.stringify({
        type: "event",
        subscription: subscribe.id,
        kind,
        region: "NE",
        seq,
        id,
        place: {
          type: "Feature",
          id,
          geometry: { type: "Point", coordinates: [lng, lat] },
          properties: { name, category: "cafe", region: "NE" },
        },
        at: new Date().toISOString(),
      });
    sockets[0]!.send(event("created", "live-1", "Albany pop-up", -73.7562, 42.6526, 41));
    sockets[0]!.send(event("updated", "sea", "Seattle (moved)", -122.34, 47.61, 42));
    sockets[0]!.send(JSON.stringify({ type: "dropped", count: 3 }));
    await poll(() => page.locator("#events li").count()).toBe(3);
    const rows = await page.locator("#events li").allInnerTexts();
    expect(rows[0]).toContain("3 event(s) dropped");
    expect(rows[1]).toMatch(/updated\s*Seattle \(moved\)\s*NE #42/);
    expect(rows[2]).toMatch(/created\s*Albany pop-up\s*NE #41/);
    expect(await page.locator('.gm-live[title="Albany pop-up"]').count()).toBe(1);
    // The updated place was on the map already: its marker moved, no second one.
    expect(await page.locator('.leaflet-marker-icon[title="Seattle"]').count()).toBe(1);
    expect(await page.locator(".gm-live").count()).toBe(1);
  });

  it("resubscribes to the new view when the map moves", async () => {
    const before = sent.filter((m) => m.op === "subscribe").length;
    const from = await toScreen(page, -90, 36);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(from.x + 200, from.y + 40, { steps: 8 });
    await page.mouse.up();
    await poll(() => sent.filter((m) => m.op === "subscribe").length).toBe(before + 1);
    const [old, next] = sent.filter((m) => m.op === "subscribe").slice(-2) as [
      (typeof sent)[number],
      (typeof sent)[number],
    ];
    expect(sent).toContainEqual({ op: "unsubscribe", id: old.id });
    expect(next.id).not.toBe(old.id);
    expect(next.area!.box[0]![0]).toBeLessThan(old.area!.box[0]![0]!); // moved west
  });

  it("shows a closed feed, then reconnects and resubscribes", async () => {
    await sockets[0]!.close({ code: 1011, reason: "server restarting" });
    await poll(() => page.locator("#live-state").innerText()).toMatch(
      /^closed \(1011: server restarting\) · retrying in 1 s$/,
    );
    expect(await page.locator("#live-state").getAttribute("class")).toContain("bad");
    await poll(() => sockets.length).toBe(2);
    await poll(() => page.locator("#live-state").innerText()).toBe("live · NE, South");
  });

  it("keeps a screenshot of results, a popup and live events as a test artifact", async () => {
    // A fresh page over the whole country.
    await page.close();
    page = await openPage();
    await page.click('button[data-mode="box"]');
    const from = await toScreen(page, -81, 44);
    const to = await toScreen(page, -69.5, 38.5);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    await poll(() => resultMarkers(page).count()).toBe(4);
    await page.locator('.gm-result[title="Boston"]').click();
    await page.locator(".leaflet-popup-content").waitFor();
    expect(await page.locator("path.gm-shape").count()).toBe(1); // a marker click is no new box
    await page.check("#live-toggle");
    await poll(() => page.locator("#live-state").innerText()).toBe("live · NE, South");
    const live = sockets[sockets.length - 1]!;
    const id = sent.filter((m) => m.op === "subscribe").at(-1)!.id;
    live.send(
      JSON.stringify({
        type: "event",
        subscription: id,
        kind: "created",
        region: "NE",
        seq: 7,
        id: "live-2",
        place: {
          type: "Feature",
          id: "live-2",
          geometry: { type: "Point", coordinates: [-71.41, 41.82] },
          properties: { name: "Providence pop-up", category: "cafe", region: "NE" },
        },
        at: new Date().toISOString(),
      }),
    );
    await page.locator('.gm-live[title="Providence pop-up"]').waitFor();

    mkdirSync(ARTIFACTS, { recursive: true });
    // Popup fade and marker flash finished, not caught half way.
    await page.screenshot({ path: join(ARTIFACTS, "map-page.png"), animations: "disabled" });
    expect(statSync(join(ARTIFACTS, "map-page.png")).size).toBeGreaterThan(10_000);
  });

  it("made no request to anything but this gateway, and logged no error", () => {
    const foreign = requested.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith("data:"));
    expect(foreign).toEqual([]);
    expect(requested).toContain(`${base}/assets/leaflet/leaflet-src.esm.js`);
    expect(problems).toEqual([]);
  });
});
