#!/usr/bin/env node
// Bundles each built command (dist/commands/**/*.js, in place) with the modules it imports,
// ours and the libraries', so that a command's start resolves and loads a handful of files
// instead of ~200 (module resolution alone was ~50 ms of each start). Code that only some
// runs need (the emulator, the upload engine, p-queue…) stays behind its import() in a
// shared chunk under dist/chunks/. Run after tsc and before the manifest.
//
// Left out of the bundles: @oclif/core and debug, which bin/run.js (or the host) loads
// first and whose one instance must be shared (debug-redaction.ts patches debug's
// formatters); zod, which lazy-zod.ts loads with require() only when a profile is wrong.
// dist/src stays as tsc wrote it: the package's exports and the hooks use it.
// dist/bundle-inputs.json maps each output file to the modules inside it, for the tests
// that check what a command loads.
import {build} from 'esbuild';
import {readdirSync, renameSync, writeFileSync} from 'node:fs';
import {dirname, join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const entryPoints = readdirSync(join(dist, 'commands'), {recursive: true, withFileTypes: true})
  .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
  .map((entry) => join(entry.parentPath, entry.name));
if (entryPoints.length === 0) throw new Error('bundle: no commands under dist/commands; did tsc run?');

const {metafile} = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: dist,
  outbase: dist,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@oclif/core', '@oclif/core/*', 'debug'],
  chunkNames: 'chunks/[name]-[hash]',
  // the CommonJS libraries inside an ES module call require(): give them Node's
  banner: {js: "import {createRequire as __bundleRequire} from 'node:module'; const require = __bundleRequire(import.meta.url);"},
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});

const inputs = Object.fromEntries(
  Object.entries(metafile.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .map(([file, out]) => [relative(dist, join(root, file)), Object.keys(out.inputs).sort()]),
);
const map = join(dist, 'bundle-inputs.json');
writeFileSync(`${map}.tmp`, `${JSON.stringify(inputs, null, 1)}\n`);
renameSync(`${map}.tmp`, map);
console.log(`bundled ${entryPoints.length} commands (${Object.keys(inputs).length - entryPoints.length} shared chunks)`);
