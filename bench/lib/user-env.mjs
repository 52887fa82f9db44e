import {join} from 'node:path';

/**
 * The environment a measured process gets: the caller's, as a user's shell would have it,
 * minus what would steer or slow the CLI under measurement (B2_* settings, NODE_OPTIONS,
 * DEBUG, and NODE_ENV, which puts oclif in development mode: a look for TypeScript
 * sources that loads the TypeScript compiler, ~0.5 s per run, in a checkout that has
 * it), with the CLI's XDG dirs under `work`. `dropPrefixes` drops more (RCLONE_).
 */
export function userEnv(work, dropPrefixes = []) {
  const dropped = (k) => ['B2_', ...dropPrefixes].some((p) => k.startsWith(p)) || k === 'NODE_OPTIONS' || k === 'NODE_ENV' || k === 'DEBUG';
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !dropped(k))),
    XDG_CONFIG_HOME: join(work, 'config'), XDG_DATA_HOME: join(work, 'data'), XDG_CACHE_HOME: join(work, 'cache'),
  };
}
