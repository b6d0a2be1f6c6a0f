import { defineConfig } from "vitest/config";

// One run over every workspace: `npm test`. Each workspace keeps its own vitest config.
export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "test"],
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
