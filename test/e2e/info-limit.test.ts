import {test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {stringify} from 'yaml';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, E2EWorld, calls, expectFailure, parseJson} from './helpers.js';

// B2 takes 2,048 bytes of file name and file info for a file stored with server-side
// encryption: `b2 copy` into a profile with SSE-B2 of a backup whose archive carries more
// (file info another tool wrote) is refused up front with one line and exit 2, before any
// copy call, instead of by B2 after the copy began.

let world: E2EWorld;

type RawFile = {fileId: string; fileName: string; contentType: string; fileInfo: Record<string, string>};

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey({capabilities: BACKUP_CAPABILITIES});
  const at = (prefix: string, extra: Record<string, unknown> = {}) => ({...key, bucket: world.emu.bucket, prefix, endpoint: world.emu.url, ...extra});
  await writeFile(world.config, stringify({profiles: {plain: at('plain/'), sealed: at('sealed/', {encryption: 'SSE-B2'})}}), {mode: 0o600});
});

afterAll(async () => {
  await world?.close();
});

test('b2 copy into an SSE-B2 profile of a backup whose archive carries 2,100 bytes of name and file info: exit 2 before any copy call, the limit and why in one line', async () => {
  const file = join(world.dir, 'noted.tar');
  await writeFile(file, randomBytes(20_000));
  const up = await world.b2(['upload', file, '--name', 'noted', '--profile', 'plain', '--no-prune', '--json']);
  expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
  const {id, archiveKey} = parseJson<{id: string; archiveKey: string}>(up);
  // another tool's note on the archive (a new version of it, the same bytes): fits the 7,000 bytes of a plain file
  const master = (await authorizeRaw(world.emu)).authorizationToken;
  const archive: RawFile = (await api(world.emu, master, 'b2_list_file_names', {bucketId: world.emu.bucketId, prefix: `plain/${archiveKey}`})).json.files[0];
  const used = Buffer.byteLength(archive.fileName) + Object.entries(archive.fileInfo).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0) + 'note'.length;
  const fileInfo = {...archive.fileInfo, note: 'n'.repeat(2100 - used)};
  const noted = await api(world.emu, master, 'b2_copy_file', {sourceFileId: archive.fileId, fileName: archive.fileName, metadataDirective: 'REPLACE', contentType: archive.contentType, fileInfo});
  expect(noted.status).toBe(200);

  world.emu.resetStats();
  const r = await world.b2(['copy', id, '--profile', 'plain', '--to', 'sealed']);
  expectFailure(r, 2, /^Error: "sealed\/noted_[^"]+\.tar": its name and file info take 2,10\d bytes, more than the 2,048 B2 allows for a file with server-side encryption or in an Object Lock bucket \(the profile encrypts it with SSE-B2\); nothing was copied; copy it to a location with a shorter prefix, or download it and upload it there with less metadata$/, world.secrets);
  expect(['b2_copy_file', 'b2_copy_part', 'b2_start_large_file'].map((c) => calls(world.emu, c))).toEqual([0, 0, 0]);
});
