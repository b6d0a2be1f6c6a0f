import { defineProject } from "vitest/config";

// Cross-service suites start real processes: generous per-test time, files run one at a time.
export default defineProject({
  test: {
    name: "test",
    include: ["src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    fileParallelism: false,
  },
});
