import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

/** The map page's own files: index.html, its ES modules and CSS. */
export const PUBLIC_DIR = fileURLToPath(new URL("../../public/", import.meta.url));

/** Leaflet's browser build (`dist/`), served from the installed package: no CDN. */
export const LEAFLET_DIR = dirname(createRequire(import.meta.url).resolve("leaflet"));

/**
 * What the page may load: only this origin (its socket included). A backstop for "works
 * offline": a stray third-party URL fails in the browser instead of leaking a request. (Leaflet
 * and the page style elements through the DOM, which `style-src 'self'` allows.)
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

// @fastify/static takes no route config for its own routes, and the rate limiter decides per route
// when the route is added, so the files are served from routes declared here: never rate limited,
// kept out of the OpenAPI document.
const routeOptions = { schema: { hide: true }, config: { rateLimit: false } } as const;

type Wildcard = { Params: { "*": string } };

/**
 * The map page: `GET /` (index.html), its files under `/assets/map/`, Leaflet under
 * `/assets/leaflet/`. Paths resolve inside those folders only (@fastify/send refuses `..`).
 */
export default fp(
  async function mapPagePlugin(app: FastifyInstance) {
    // Encapsulated, so the `reply.sendFile` decorator stays inside this context.
    await app.register(async function mapPageRoutes(scope) {
      await scope.register(fastifyStatic, { root: PUBLIC_DIR, serve: false, dotfiles: "ignore" });
      scope.get("/", routeOptions, (_request, reply) =>
        reply.header("content-security-policy", CONTENT_SECURITY_POLICY).sendFile("index.html"),
      );
      scope.get<Wildcard>("/assets/map/*", routeOptions, (request, reply) =>
        reply.sendFile(request.params["*"], PUBLIC_DIR),
      );
      scope.get<Wildcard>("/assets/leaflet/*", routeOptions, (request, reply) =>
        reply.sendFile(request.params["*"], LEAFLET_DIR),
      );
    });
  },
  { name: "geomesh-map-page" },
);
