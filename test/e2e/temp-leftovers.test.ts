import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readdir, readFile, stat, writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {deadPid} from '../helpers/dead-pid.js';
import {calls, E2EWorld, parseJson, partialsBeside, sha1, tempFileBeside, until} from './helpers.js';

// A process killed while it writes (kill -9, a crash, a second Ctrl-C that exits at once)
// leaves its hidden temp file behind. The next command that writes to the same place
// removes those of dead processes, and never one a live process is still writing.

const PREFIX = 'home/';
const SIZE = 4 * 1024 * 1024;
let world: E2EWorld;
let archive: Buffer;
let backupId: string;

const partials = (name: string) => partialsBeside(world.dir, name);
const tempFile = (name: string, opts: {withData?: boolean; except?: string} = {}) => tempFileBeside(world.dir, name, opts);

/**
 * A download throttled by the emulator, so that it is still running when the test acts:
 * at 256 KB/s its first 1 MiB write lands after 4 s, with 12 s to go; at 1 KB/s it never ends here.
 */
function slowDownload(out: string, bytesPerSecond = 1024) {
  world.emu.faults.add({call: 'b2_download_file_by_id', count: 1, bytesPerSecond}); // the archive: by the id listed
  return world.spawn(['download', backupId, '-o', out, '--profile', 'home']);
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX});
  archive = randomBytes(SIZE);
  await writeFile(join(world.dir, 'src.tar'), archive);
  const up = await world.b2(['upload', join(world.dir, 'src.tar'), '--name', 'kept', '--json', '--profile', 'home']);
  expect(up.code).toBe(0);
  backupId = parseJson<{id: string}>(up).id;
});

afterAll(async () => {
  world?.emu.faults.clear();
  await world?.close();
});

describe('a download killed with kill -9', () => {
  test('leaves its temp file; the next download to the same path removes it, but not the temp file of a download still running', async () => {
    const killed = slowDownload('r.tar', 256 * 1024);
    const killedTemp = await tempFile('r.tar', {withData: true});
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    expect(await partials('r.tar')).toEqual([killedTemp]); // with backup data in it
    const asked = calls(world.emu, 'b2_download_file_by_id');
    const live = slowDownload('r.tar'); // a second download to the same path, still running through what follows
    const liveTemp = await tempFile('r.tar', {except: killedTemp});
    await until(async () => (calls(world.emu, 'b2_download_file_by_id') > asked ? true : undefined), 'its request (throttled, not the next one)');

    const again = await world.b2(['download', backupId, '-o', 'r.tar', '--profile', 'home']);
    expect(again.code).toBe(0);
    expect(sha1(await readFile(join(world.dir, 'r.tar')))).toBe(sha1(archive));
    expect(await partials('r.tar')).toEqual([liveTemp]); // the dead one's is gone, the live one's kept

    live.child.kill('SIGKILL');
    await live.done;
  });
});

describe('a second interrupt before the first one has cleaned up', () => {
  test('exits at once, and the temp file is gone', async () => {
    const run = slowDownload('twice.tar');
    await tempFile('twice.tar');
    // Both arrive together (held while the process is stopped): the second is handled
    // before the first one's cleanup could run, as with a quick double Ctrl-C.
    run.child.kill('SIGSTOP');
    run.child.kill('SIGINT');
    run.child.kill('SIGTERM');
    run.child.kill('SIGCONT');
    const done = await run.done;
    expect([130, 143]).toContain(done.code); // whichever of the two the process saw second
    expect(await partials('twice.tar')).toEqual([]);
    expect(await readdir(world.dir)).not.toContain('twice.tar');
  });
});

describe('the cache directories', () => {
  test('an upload removes the temp files that killed writers left in the metadata cache and pending uploads, and keeps a live one', async () => {
    // a location's cache: its pending uploads, and the metadata files a profile without an SSE-C key read (metadata-cache/plain)
    const pending = await findDirs(join(world.dir, 'cache'), ['pending-uploads']);
    expect(pending).toHaveLength(1);
    const dirs = [join(dirname(pending[0]), 'metadata-cache', 'plain'), pending[0]];
    expect((await stat(dirs[0])).isDirectory()).toBe(true);
    const dead = deadPid();
    const planted: Record<string, {stale: string; live: string}> = {};
    for (const dir of dirs) {
      const stale = `.${'a'.repeat(40)}.json.${dead}.0badc0de.tmp`;
      const live = `.${'b'.repeat(40)}.json.${process.pid}.0badc0de.tmp`; // this test process is alive
      await writeFile(join(dir, stale), 'half a record');
      await writeFile(join(dir, live), 'being written');
      planted[dir] = {stale, live};
    }
    await writeFile(join(world.dir, 'other.tar'), randomBytes(1000));
    const up = await world.b2(['upload', join(world.dir, 'other.tar'), '--name', 'other', '--profile', 'home']);
    expect(up.code).toBe(0);
    for (const dir of dirs) {
      const names = await readdir(dir);
      expect({dir, stale: names.includes(planted[dir].stale), live: names.includes(planted[dir].live)}).toEqual({dir, stale: false, live: true});
    }
  });
});

async function findDirs(root: string, names: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(root, {withFileTypes: true, recursive: true})) {
    if (e.isDirectory() && names.includes(e.name)) found.push(join(e.parentPath ?? (e as unknown as {path: string}).path, e.name));
  }
  return found.sort();
}
