#!/usr/bin/env node
// Standalone entry (development and the demo). Inside a host CLI the host's own bin runs.

// oclif's index checks its own engines range with semver (47 modules, ~10-15 ms of every
// command's start); package.json's engines (node >=20) already covers it. The variable
// is removed again so that processes this one starts see the environment as it was.
const engineCheck = process.env.OCLIF_DISABLE_ENGINE_WARNING;
process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
const {execute} = await import('@oclif/core');
if (engineCheck === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING;
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineCheck;

// oclif's debug lines print argv: keep a key given on the command line out of them
if (process.env.DEBUG) (await import('../dist/src/cli/debug-redaction.js')).redactArgvInDebugOutput(process.argv);

await execute({dir: import.meta.url});
