import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "store-mongo", include: ["src/**/*.test.ts"] } });
