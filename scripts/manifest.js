#!/usr/bin/env node
// Writes oclif.manifest.json from the built commands. This is what `oclif manifest`
// does, done with @oclif/core alone so the build does not need the oclif CLI (and its
// cloud-publishing dependencies). Run after tsc: a stale manifest hides commands.
import {Plugin} from '@oclif/core/config';
import {writeFileSync, renameSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {dirname, join} from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, isRoot: true});
await plugin.load();
const manifest = plugin.manifest;
const count = Object.keys(manifest.commands).length;
if (count === 0) throw new Error('manifest: no commands found under dist/commands; did tsc run?');
const out = join(root, 'oclif.manifest.json');
writeFileSync(out + '.tmp', JSON.stringify(manifest, null, 2) + '\n');
renameSync(out + '.tmp', out);
console.log(`wrote oclif.manifest.json (${count} commands, version ${manifest.version})`);
