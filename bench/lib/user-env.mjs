import {join} from 'node:path';

/**
 * Whether an environment variable would steer or slow the CLI under measurement or test,
 * where a user's shell would not have it: B2_* settings, NODE_OPTIONS, DEBUG; NODE_ENV
 * (jest sets it to "test"), which puts oclif in development mode: a look for TypeScript
 * sources that loads the TypeScript compiler, ~0.5 s of CPU per run, in a checkout that
 * has it; and CI and FORCE_COLOR (as a CI runner sets them), with which the host's own
 * plugins print ANSI escapes into piped output. Names starting with one of `dropPrefixes`
 * (RCLONE_) too.
 */
export function steersCli(name, dropPrefixes = []) {
  return ['B2_', ...dropPrefixes].some((p) => name.startsWith(p)) || STEERING.has(name);
}

const STEERING = new Set(['NODE_OPTIONS', 'NODE_ENV', 'DEBUG', 'CI', 'FORCE_COLOR']);

/** The environment a measured process gets: the caller's without what steersCli() names, with the CLI's XDG dirs under `work`. */
export function userEnv(work, dropPrefixes = []) {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !steersCli(k, dropPrefixes))),
    XDG_CONFIG_HOME: join(work, 'config'), XDG_DATA_HOME: join(work, 'data'), XDG_CACHE_HOME: join(work, 'cache'),
  };
}
