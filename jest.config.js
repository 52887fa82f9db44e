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
  // Jest's ESM mode keeps each test file's module registry alive (jestjs/jest#14605): a
  // worker's heap grows ~6 MB per file, to 200-250 MB by the end, and freeing it on exit
  // took ~440 ms, so on a busy machine jest's 500 ms grace ran out ("A worker process has
  // failed to exit gracefully"). A worker that has grown past this is replaced between
  // files (measured: 74-155 MB at the end, gone in 78-121 ms).
  workerIdleMemoryLimit: '250MB',
  // the suite-wide secret scan: helpers capture what the CLI printed and wrote; the teardown fails the run on a leak
  globalSetup: '<rootDir>/test/secret-scan/global-setup.mjs',
  setupFilesAfterEnv: ['<rootDir>/test/helpers/stdout-error-listeners.ts'],
  globalTeardown: '<rootDir>/test/secret-scan/global-teardown.mjs',
};
