/**
 * The GeoStore conformance suite: one set of behaviours every adapter must show, run against the
 * embedded store everywhere and MongoDB wherever one is reachable.
 *
 * ```ts
 * describeGeoStoreConformance("sqlite", async () => new EmbeddedGeoStore({ path, region: "T" }));
 * ```
 */
import { afterEach, beforeEach, describe } from "vitest";
import type { GeoStore } from "../geo-store.js";
import type {
  ConformanceContext,
  ConformanceOptions,
  StoreFactory,
} from "./conformance-context.js";
import { edgeCases } from "./edge-cases.js";
import { filterCases } from "./filter-cases.js";
import { knownAnswerCases } from "./known-answer-cases.js";
import { pagingCases } from "./paging-cases.js";
import { randomizedCases } from "./randomized-cases.js";
import { writeCases } from "./write-cases.js";

/**
 * Registers the whole suite under `describe(name)`. `factory` must return a new, empty store each
 * call (a temp file, a fresh collection); the suite initialises it and closes it after the test.
 */
export function describeGeoStoreConformance(
  name: string,
  factory: StoreFactory,
  options: ConformanceOptions = {},
): void {
  describe(`GeoStore conformance: ${name}`, { timeout: options.timeoutMs ?? 30_000 }, () => {
    let current: GeoStore | undefined;
    const ctx: ConformanceContext = {
      options,
      store: () => {
        if (current === undefined)
          throw new Error("no store: the conformance suite's beforeEach did not run");
        return current;
      },
    };

    beforeEach(async () => {
      current = await factory();
      await current.init();
      await current.init();
    }, options.timeoutMs ?? 30_000);

    afterEach(async () => {
      const store = current;
      current = undefined;
      if (store === undefined) return;
      await store.close();
      await store.close();
      await options.dispose?.(store);
    }, options.timeoutMs ?? 30_000);

    knownAnswerCases(ctx);
    edgeCases(ctx);
    filterCases(ctx);
    writeCases(ctx);
    pagingCases(ctx);
    randomizedCases(factory, options);
  });
}
