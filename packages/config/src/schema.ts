import { z } from "zod";

const endpoint = z
  .string()
  .regex(
    /^(tcp:\/\/[^\s:]+:\d{1,5}|ipc:\/\/\S+|inproc:\/\/\S+)$/,
    "must be tcp://host:port, ipc://path or inproc://name",
  );

const regionName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,31}$/,
    "must be 1-32 letters, digits, '-' or '_' starting with a letter",
  );

const polygonSource = z.union([
  z.strictObject({
    states: z.array(z.string().regex(/^[A-Z]{2}$/, "must be a two-letter state code")).min(1),
  }),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({
    geometry: z.strictObject({
      type: z.enum(["Polygon", "MultiPolygon"]),
      coordinates: z.array(z.unknown()),
    }),
  }),
]);

const storeUri = z
  .string()
  .regex(/^(mongodb(\+srv)?:\/\/\S+|sqlite:\S+)$/, "must be mongodb://… or sqlite:<file>");

export const regionSchema = z.strictObject({
  name: regionName,
  polygon: polygonSource,
  endpoints: z.strictObject({
    frontend: endpoint,
    backend: endpoint,
    cloud: endpoint,
    state: endpoint,
    events: endpoint,
  }),
  store: storeUri,
  workers: z.int().min(0).max(64).default(2),
});

export const clusterSchema = z
  .strictObject({
    regions: z.array(regionSchema).min(1).max(64),
    gateway: z
      .strictObject({
        host: z.string().min(1).default("127.0.0.1"),
        port: z.int().min(0).max(65535).default(8080),
        /** Per client address: at most `max` requests per `windowMs` (429 past it); 0 = off. */
        rateLimit: z
          .strictObject({
            max: z.int().min(0).max(100_000_000).default(6000),
            windowMs: z.int().min(100).max(3_600_000).default(60_000),
          })
          .prefault({}),
      })
      .prefault({}),
    heartbeat: z
      .strictObject({
        intervalMs: z.int().min(50).max(60_000).default(1000),
        liveness: z.int().min(1).max(100).default(3),
      })
      .prefault({}),
    limits: z
      .strictObject({
        queuePerService: z.int().min(1).max(1_000_000).default(1000),
        maxMessageBytes: z
          .int()
          .min(1024)
          .max(256 * 1024 * 1024)
          .default(16 * 1024 * 1024),
        highWaterMark: z.int().min(1).max(1_000_000).default(10_000),
        defaultTimeoutMs: z.int().min(1).max(3_600_000).default(30_000),
        /**
         * How long a request for a service no worker offers waits (for a worker that may be
         * registering) before the broker answers 404 SERVICE_NOT_FOUND — or 503
         * REGION_UNAVAILABLE for `service@REGION` whose region has no reachable broker.
         */
        unknownServiceMs: z.int().min(0).max(600_000).default(500),
      })
      .prefault({}),
    curve: z
      .strictObject({
        enabled: z.boolean().default(false),
        keysDir: z.string().min(1).default("./keys"),
      })
      .prefault({}),
    dataDir: z.string().min(1).default("./data"),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, string>();
    cfg.regions.forEach((region, i) => {
      const key = region.name.toLowerCase();
      if (seen.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["regions", i, "name"],
          message: `duplicate region name "${region.name}"`,
        });
      }
      seen.set(key, region.name);
    });
    const endpoints = new Map<string, string>();
    cfg.regions.forEach((region, i) => {
      for (const [kind, ep] of Object.entries(region.endpoints)) {
        const other = endpoints.get(ep);
        if (other !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["regions", i, "endpoints", kind],
            message: `endpoint ${ep} is already used by ${other}`,
          });
        }
        endpoints.set(ep, `${region.name}.${kind}`);
      }
    });
  });

export type ClusterConfigInput = z.input<typeof clusterSchema>;
export type ClusterConfig = z.output<typeof clusterSchema>;
export type RegionConfig = ClusterConfig["regions"][number];
export type RegionEndpoints = RegionConfig["endpoints"];
