/**
 * Where integration tests get their MongoDB: `MONGODB_URI` if set; else a throwaway testcontainers
 * MongoDB (a single-node replica set, so transactions and `majority` are exercised) when a
 * container runtime answers; else nothing — and the suite is reported as skipped with the reason
 * in its title, unless `REQUIRE_INTEGRATION=1`, which turns the skip into a failing test.
 *
 * ```ts
 * const mongo = await detectMongo();
 * describeWithMongo("my suite", mongo, (ctx) => {
 *   it("works", async () => { const db = ctx.client().db(ctx.database); … });
 * });
 * ```
 * Each `describeWithMongo` block uses its own randomly named database, dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, it } from "vitest";

/** Where a MongoDB for tests comes from, or why there is none. */
export type MongoAvailability =
  | { readonly available: true; readonly source: "MONGODB_URI" }
  | { readonly available: true; readonly source: "container"; readonly runtime: string }
  | { readonly available: false; readonly reason: string };

/** A running MongoDB for a test file. */
export interface MongoTestServer {
  /** Connection string (not to be logged: it may carry credentials). */
  readonly uri: string;
  readonly source: "MONGODB_URI" | "container";
  /** Stops the container (no-op for `MONGODB_URI`). Idempotent. */
  stop(): Promise<void>;
}

/** What a `describeWithMongo` body can use once its `beforeAll` has run. */
export interface MongoTestContext {
  /** Connection string of the server. */
  uri(): string;
  /** A connected client (shared by the block; closed afterwards). */
  client(): MongoClient;
  /** The block's own database name (random; dropped afterwards). */
  readonly database: string;
}

/** Image of the throwaway server; `MONGODB_IMAGE` overrides. */
export const DEFAULT_MONGODB_IMAGE = "mongo:7.0";

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.slice(0, 160);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Decides where MongoDB comes from without starting anything and without hanging: the container
 * runtime lookup of testcontainers runs under a short timeout.
 */
export async function detectMongo(
  options: { readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {},
): Promise<MongoAvailability> {
  const env = options.env ?? process.env;
  const uri = env.MONGODB_URI;
  if (uri !== undefined && uri.trim() !== "") return { available: true, source: "MONGODB_URI" };
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    const runtime = await withTimeout(
      getContainerRuntimeClient(),
      options.timeoutMs ?? 5000,
      "the container runtime",
    );
    const info = runtime.info.containerRuntime;
    return {
      available: true,
      source: "container",
      runtime: `${info.operatingSystem} ${info.serverVersion}`.trim(),
    };
  } catch (error) {
    return {
      available: false,
      reason: `no MONGODB_URI and no container runtime (${message(error)})`,
    };
  }
}

/** Starts (or points at) the MongoDB that `availability` names. */
export async function startMongoTestServer(
  availability: MongoAvailability & { available: true },
  env: NodeJS.ProcessEnv = process.env,
): Promise<MongoTestServer> {
  switch (availability.source) {
    case "MONGODB_URI":
      return { uri: env.MONGODB_URI ?? "", source: "MONGODB_URI", stop: () => Promise.resolve() };
    case "container": {
      const { MongoDBContainer } = await import("@testcontainers/mongodb");
      const container = await new MongoDBContainer(
        env.MONGODB_IMAGE ?? DEFAULT_MONGODB_IMAGE,
      ).start();
      let stopped = false;
      return {
        // The container is a one-node replica set whose advertised host is internal: connect directly.
        uri: `${container.getConnectionString()}/?directConnection=true`,
        source: "container",
        stop: async () => {
          if (stopped) return;
          stopped = true;
          await container.stop();
        },
      };
    }
  }
}

/** A random database name for one test file/run. */
export function randomDatabaseName(prefix = "geomesh_test"): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
}

/**
 * `describe` backed by MongoDB: starts or reaches the server in `beforeAll`, hands the body a
 * client and its own database, drops the database and stops the server in `afterAll`. Without a
 * MongoDB the block is registered as skipped with the reason in its title; with
 * `REQUIRE_INTEGRATION=1` a failing test says why instead.
 */
export function describeWithMongo(
  title: string,
  availability: MongoAvailability,
  body: (ctx: MongoTestContext) => void,
  options: { readonly env?: NodeJS.ProcessEnv; readonly startTimeoutMs?: number } = {},
): void {
  const env = options.env ?? process.env;
  if (!availability.available) {
    if (env.REQUIRE_INTEGRATION === "1") {
      describe(title, () => {
        it(`has a MongoDB to run against (REQUIRE_INTEGRATION=1): ${availability.reason}`, () => {
          throw new Error(`REQUIRE_INTEGRATION=1 but ${availability.reason}`);
        });
      });
      return;
    }
  }
  const skipped = !availability.available;
  // Say it in the run's output too, not only in the (collapsed) test titles.
  if (!availability.available)
    process.stderr.write(`[geomesh] "${title}" skipped: ${availability.reason}\n`);
  const fullTitle = availability.available
    ? `${title} [MongoDB from ${availability.source}]`
    : `${title} — skipped: ${availability.reason}`;
  describe.skipIf(skipped)(fullTitle, () => {
    const database = randomDatabaseName();
    let server: MongoTestServer | undefined;
    let client: MongoClient | undefined;
    const ctx: MongoTestContext = {
      database,
      uri: () => {
        if (server === undefined) throw new Error("MongoDB is not started (beforeAll did not run)");
        return server.uri;
      },
      client: () => {
        if (client === undefined) throw new Error("MongoDB is not started (beforeAll did not run)");
        return client;
      },
    };

    beforeAll(async () => {
      if (!availability.available) return;
      server = await startMongoTestServer(availability, env);
      client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 10_000 });
      await client.connect();
    }, options.startTimeoutMs ?? 180_000);

    afterAll(async () => {
      try {
        await client?.db(database).dropDatabase();
      } finally {
        await client?.close();
        await server?.stop();
      }
    }, 60_000);

    body(ctx);
  });
}
