#!/usr/bin/env node
// Standalone entry (development and the demo). Inside a host CLI the host's own bin runs.
import {execute} from '@oclif/core';

// oclif's debug lines print argv: keep a key given on the command line out of them
if (process.env.DEBUG) (await import('../dist/src/cli/debug-redaction.js')).redactArgvInDebugOutput(process.argv);

await execute({dir: import.meta.url});
