import {createRequire} from 'node:module';

export type Zod = typeof import('zod');

let zod: Zod | undefined;

/**
 * zod, loaded on first use: its ~100 modules cost ~60 ms of CPU at every command's start,
 * and only bad input, edits of the profiles file and the rarer paths need it. The
 * CommonJS build is required so that validation stays synchronous; every user of zod in
 * the plugin goes through here, so that only one copy is ever loaded.
 */
export function loadZod(): Zod {
  return (zod ??= createRequire(import.meta.url)('zod') as Zod);
}
