import { readdirSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppFixture, appFixture } from "../testing/app-fixture.js";
import { PUBLIC_DIR } from "./map-page.js";

let fixture: AppFixture;
let app: FastifyInstance;

beforeAll(async () => {
  // A tight limit, so a page's worth of requests would trip it if the files were limited.
  fixture = await appFixture({ rateLimit: { max: 3, windowMs: 60_000 } });
  app = fixture.app;
});
afterAll(() => fixture.close());

/** Every http(s) URL in a text whose host is not loopback. */
function nonLoopbackUrls(text: string): string[] {
  const urls = text.match(/https?:\/\/[^\s"'`)<>]+/g) ?? [];
  return urls.filter((u) => !/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(u));
}

/**
 * The URLs a page file makes the browser load: CSS url(), ES module imports and, in our own
 * files, src/href (Leaflet's attribution has an `<a href>` to its site: a link, not a load).
 */
function references(text: string, withLinks: boolean): string[] {
  const patterns = [
    /url\(\s*["']?([^"')]+)["']?\s*\)/g,
    /^import\s[^;]*?from\s+"([^"]+)"/gm,
    /^import\s+"([^"]+)"/gm,
    ...(withLinks ? [/\s(?:src|href)="([^"]+)"/g] : []),
  ];
  return patterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[1]!));
}

describe("map page", () => {
  it("serves the page's HTML at / with a same-origin-only content security policy", async () => {
    const res = await app.inject({ url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain('<main id="map"');
    expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
  });

  it("serves Leaflet's ES module and stylesheet from the installed package", async () => {
    const js = await app.inject({ url: "/assets/leaflet/leaflet-src.esm.js" });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toMatch(/javascript/);
    expect(js.body).toMatch(/export \{[^}]*\bmap\b/);
    const css = await app.inject({ url: "/assets/leaflet/leaflet.css" });
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    expect(css.body).toContain(".leaflet-container");
  });

  it("serves every file the page refers to, all from this origin", async () => {
    const seen = new Set<string>();
    const queue = ["/"];
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await app.inject({ url: path });
      expect(res.statusCode, path).toBe(200);
      // Leaflet's own files are followed for what they load, not scanned for URLs in comments.
      const ours = !path.startsWith("/assets/leaflet/");
      if (ours) expect(nonLoopbackUrls(res.body), path).toEqual([]);
      if (!/\.(html|js|css)$|\/$/.test(path)) continue;
      for (const ref of references(res.body, ours)) {
        if (ref.startsWith("data:")) continue;
        const url = new URL(ref, `http://127.0.0.1${path}`);
        expect(url.host, `${path} → ${ref}`).toBe("127.0.0.1");
        queue.push(url.pathname);
      }
    }
    // The page, its modules and stylesheet, Leaflet's module and stylesheet (with images).
    expect(seen).toContain("/assets/map/map.js");
    expect(seen).toContain("/assets/map/draw.js");
    expect(seen).toContain("/assets/map/live.js");
    expect(seen).toContain("/assets/map/regions.js");
    expect(seen).toContain("/assets/leaflet/leaflet-src.esm.js");
    expect(seen).toContain("/assets/leaflet/leaflet.css");
  });

  it("has no non-loopback http(s) URL in any of the page's files", async () => {
    const files = readdirSync(PUBLIC_DIR);
    expect(files).toEqual(
      expect.arrayContaining([
        "index.html",
        "map.js",
        "draw.js",
        "live.js",
        "regions.js",
        "map.css",
      ]),
    );
    for (const file of files) {
      const res = await app.inject({ url: `/assets/map/${file}` });
      expect(res.statusCode, file).toBe(200);
      expect(nonLoopbackUrls(res.body), file).toEqual([]);
    }
  });

  it("never rate-limits the page's files", async () => {
    for (let i = 0; i < 6; i++) {
      expect((await app.inject({ url: "/" })).statusCode).toBe(200);
      expect((await app.inject({ url: "/assets/map/map.js" })).statusCode).toBe(200);
      expect((await app.inject({ url: "/assets/leaflet/leaflet.css" })).statusCode).toBe(200);
    }
    const api: number[] = [];
    for (let i = 0; i < 5; i++) api.push((await app.inject({ url: "/v1/cluster" })).statusCode);
    expect(api).toContain(429);
  });

  it("keeps its routes out of the OpenAPI document", async () => {
    // From an address of its own: the rate-limit test has used up 127.0.0.1's allowance.
    const res = await app.inject({ url: "/docs/json", remoteAddress: "127.0.0.7" });
    const doc = res.json<{ paths: Record<string, unknown> }>();
    const paths = Object.keys(doc.paths);
    expect(paths).toContain("/v1/regions");
    expect(paths.filter((p) => p === "/" || p.startsWith("/assets/"))).toEqual([]);
  });

  it("answers 404 NOT_FOUND for a missing file and for paths outside the served folders", async () => {
    const missing = await app.inject({ url: "/assets/map/nope.js" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    for (const url of [
      "/assets/map/../../package.json",
      "/assets/map/..%2f..%2fpackage.json",
      "/assets/leaflet/..%2fpackage.json",
      "/assets/map/%2e%2e/%2e%2e/src/app.ts",
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.body, url).not.toMatch(/"dependencies"|buildApp/);
    }
  });
});
