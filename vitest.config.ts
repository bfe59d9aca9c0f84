import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    env: {
      // The AWS SDK's Node-version notice (Node 20 support ends in its releases after January 2027;
      // the runtimes run Node 22, and the tests also on 20). Set for the test workers and inherited
      // by the processes they start; the documented switch (aws/aws-sdk-js-v3#7983).
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
    },
    // Generous: CI machines have 2 cores shared by sharp, PostgreSQL and the runners under test.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Two cores: test files share PostgreSQL and sharp's thread pool.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1
  }
})
