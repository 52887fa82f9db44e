/** ts-jest ESM preset: tests import the TypeScript sources directly (no build needed
 * for unit tests); CLI tests spawn bin/run.js and so need `npm run build` first. */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {
    '^.+\\.ts$': ['ts-jest', {useESM: true, tsconfig: 'tsconfig.json', diagnostics: false}],
  },
  testTimeout: 60_000,
  // three on two cores: the CLI tests spend much of their time waiting on child processes
  // and on transfers the emulator throttles; a third worker fills that idle core time
  // (measured: whole suite 303 s against 330 s with two, 3 % more CPU)
  maxWorkers: 3,
  // the suite-wide secret scan: helpers capture what the CLI printed and wrote; the teardown fails the run on a leak
  globalSetup: '<rootDir>/test/secret-scan/global-setup.mjs',
  setupFilesAfterEnv: ['<rootDir>/test/helpers/stdout-error-listeners.ts'],
  globalTeardown: '<rootDir>/test/secret-scan/global-teardown.mjs',
};
