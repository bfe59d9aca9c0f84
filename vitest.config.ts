import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    // Generous: CI machines have 2 cores shared by sharp, PostgreSQL and the runners under test.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Two cores: test files share PostgreSQL and sharp's thread pool.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1
  }
})
