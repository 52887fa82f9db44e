#!/usr/bin/env node
// Standalone entry (development and the demo). Inside a host CLI the host's own bin runs.
import Module from 'node:module';
import {fileURLToPath} from 'node:url';

// Compiled code of the libraries from earlier runs (~35 ms of each start): Node 22's own
// compile cache where there is one, else ours for the CommonJS libraries (code-cache.ts).
// It lives with the code it is compiled from; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
let codeCache;
let codeCacheReport; // set below under DEBUG
if (!process.env.NODE_DISABLE_COMPILE_CACHE) {
  // V8 stamps cached code with its flags, and every command sets the heap flag of a transfer
  // as it starts (heap-room.ts): set first, the libraries loaded after that point (zod, for a
  // profile that is wrong) are cached too, instead of compiled afresh by every such run
  (await import('../dist/src/cli/heap-room.js')).makeRoomForTransferBuffers();
  const dir = fileURLToPath(new URL(`../node_modules/.cache/backup-plugin-b2/code-cache/${process.version}-${process.arch}`, import.meta.url));
  if (typeof Module.enableCompileCache === 'function') Module.enableCompileCache(dir);
  else codeCache = (await import('../dist/src/cli/code-cache.js')).enableCodeCache(dir, {report: (stats) => codeCacheReport?.(stats)});
}

// oclif's index checks its own engines range with semver (47 modules, ~10-15 ms of every
// command's start); package.json's engines (node >=20) already covers it. The variable
// is removed again so that processes this one starts see the environment as it was.
const engineCheck = process.env.OCLIF_DISABLE_ENGINE_WARNING;
process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
const {execute} = await import('@oclif/core');
if (engineCheck === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING;
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck;

if (process.env.DEBUG) {
  // oclif's debug lines print argv: keep a key given on the command line out of them
  (await import('../dist/src/cli/debug-redaction.js')).redactArgvInDebugOutput(process.argv);
  const log = (await import('debug')).default('backup-b2:code-cache');
  if (codeCache) codeCacheReport = ({hits, misses}) => log(`${hits} modules compiled from the code cache, ${misses} compiled afresh`);
}

await execute({dir: import.meta.url});
