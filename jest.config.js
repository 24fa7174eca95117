/** Jest runs the end-to-end suites: each file gets its own database (see test/harness.ts). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/src"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  globalSetup: "<rootDir>/test/global-setup.mjs",
  globalTeardown: "<rootDir>/test/global-teardown.mjs",
  setupFiles: ["reflect-metadata"],
  testTimeout: 30000,
  maxWorkers: 2,
};
