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
import {readFileSync, readdirSync, renameSync, writeFileSync} from 'node:fs';
import {dirname, join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const entryPoints = readdirSync(join(dist, 'commands'), {recursive: true, withFileTypes: true})
  .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
  .map((entry) => join(entry.parentPath, entry.name));
if (entryPoints.length === 0) throw new Error('bundle: no commands under dist/commands; did tsc run?');

/**
 * Two libraries' dependencies that every connecting command would load for nothing (~90 ms
 * of CPU per start, measured): backblaze-b2 calls three lodash functions, which come from
 * lodash's own per-function modules instead of its 540 KB full build; axios's `form-data`
 * (with mime-types and its 186 KB database) serves multipart bodies, which nothing here
 * sends: axios is given none, and uses Node's own FormData should it ever need one.
 * And axios, as it loads, touches Node's fetch implementation twice (~45 ms of CPU: Node
 * compiles all of undici on first use): it reads the global FormData, and probes its fetch
 * adapter. The provider uses the http adapter and sends no forms, so both wait until used
 * (axiosEdits).
 */
const slimDependencies = {
  name: 'slim-dependencies',
  setup(b) {
    const slim = {
      'lodash-for-backblaze-b2': "module.exports = {get: require('lodash/get'), merge: require('lodash/merge'), isString: require('lodash/isString')};",
      // every use of it in axios is guarded, and falls back to Node's global FormData
      'form-data-for-axios': 'module.exports = undefined;',
    };
    b.onResolve({filter: /^lodash$/}, (args) => (args.importer.includes('/node_modules/backblaze-b2/') ? {path: 'lodash-for-backblaze-b2', namespace: 'slim'} : undefined));
    b.onResolve({filter: /^form-data$/}, (args) => (args.importer.includes('/node_modules/axios/') ? {path: 'form-data-for-axios', namespace: 'slim'} : undefined));
    b.onLoad({filter: /.*/, namespace: 'slim'}, (args) => ({contents: slim[args.path], resolveDir: root, loader: 'js'}));
    b.onLoad({filter: /\/node_modules\/axios\/dist\/node\/axios\.cjs$/}, (args) => {
      let source = readFileSync(args.path, 'utf8');
      for (const [text, replacement] of axiosEdits) {
        // an axios whose code moved: the build says so rather than bundle it unedited
        if (source.split(text).length !== 2) throw new Error(`bundle: ${args.path} no longer holds ${JSON.stringify(text)} once; look at axiosEdits in scripts/bundle.js`);
        source = source.replace(text, replacement);
      }
      return {contents: source, loader: 'js'};
    });
  },
};

/** Each text, found exactly once in axios's Node build, and what replaces it. */
const axiosEdits = [
  // the global FormData is read only for a value that could be one (it has append())
  ["const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;\n", ''],
  ['  if (FormDataCtor && thing instanceof FormDataCtor) return true;\n', "  if (isFunction$1(thing.append) && typeof G.FormData !== 'undefined' && thing instanceof G.FormData) return true;\n"],
  // the fetch adapter's probe runs when that adapter is first asked for (getFetch), never at load
  ['\ngetFetch();\n', '\n'],
];

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
  plugins: [slimDependencies],
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
