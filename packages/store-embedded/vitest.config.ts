import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "store-embedded", include: ["src/**/*.test.ts"] } });
