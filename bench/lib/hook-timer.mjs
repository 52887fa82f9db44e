#!/usr/bin/env node
// Times the backup:targets hook alone in a fresh host process: loads the host's oclif
// config (with the plugin), then runs the hook the way a host command does. Prints {hookMs}.
//   node hook-timer.mjs HOST_DIR
import {createRequire} from 'node:module';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

const host = process.argv[2];
const {Config} = await import(pathToFileURL(createRequire(join(host, 'package.json')).resolve('@oclif/core')).href);
const config = await Config.load(host);
const t0 = performance.now();
const {successes, failures} = await config.runHook('backup:targets', {});
const hookMs = performance.now() - t0;
if (failures.length > 0 || !successes.some((s) => s.result?.type === 'b2')) throw new Error(`the hook did not register b2: ${JSON.stringify(failures.map((f) => String(f.error)))}`);
process.stdout.write(`${JSON.stringify({hookMs})}\n`);
