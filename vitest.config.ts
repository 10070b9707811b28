import { defineConfig } from "vitest/config";

// Tests start real processes, sandboxes, containers, databases and a browser: generous timeouts, and few files at
// once on a small machine.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: "forks",
    maxWorkers: 2,
    globalSetup: ["test/global-setup.ts"],
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "test-artifacts/vitest.json" },
  },
});
