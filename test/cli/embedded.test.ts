import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {startEmulator} from '../../src/emulator/index.js';
import {runCli} from '../helpers/run-cli.js';

// The built-in `local` profile with no account and no profiles file: each command below
// is a separate process that starts the embedded emulator on the same data dir, so the
// backup must survive from one command to the next.
describe('the built-in local profile (embedded B2)', () => {
  let dir: string;
  let env: Record<string, string>;
  const archive = randomBytes(20_000_000); // above the embedded 16 MB cutoff: multi-part
  const sha1 = createHash('sha1').update(archive).digest('hex');
  const b2 = (...args: string[]) => runCli(['b2', ...args, '--profile', 'local'], {env, cwd: dir});

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'b2-embedded-'));
    env = {XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache')};
    await writeFile(join(dir, 'archive.tar'), archive);
  });
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true});
  });

  test('a backup uploaded by one command is listed, verified, restored and deleted by the next ones', async () => {
    const up = await b2('upload', join(dir, 'archive.tar'), '--name', 'kept between commands', '--json');
    expect(up.code).toBe(0);
    const {id, sha1: uploaded} = JSON.parse(up.stdout) as {id: string; sha1: string};
    expect(uploaded).toBe(sha1);

    const list = await b2('list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({id, name: 'kept between commands', size: archive.length})]);

    expect((await b2('verify', id)).code).toBe(0);
    const restored = join(dir, 'restored.tar');
    expect((await b2('download', id, '-o', restored)).code).toBe(0);
    expect(createHash('sha1').update(await readFile(restored)).digest('hex')).toBe(sha1);

    expect((await b2('delete', id, '--yes')).code).toBe(0);
    expect(JSON.parse((await b2('list', '--json')).stdout)).toEqual([]);
  });

  test('a second command while the store is in use stops with one line that names the holder, not the emulator\'s advice', async () => {
    const info = await runCli(['b2', 'local', 'info', '--json'], {env, cwd: dir});
    const {directory} = JSON.parse(info.stdout) as {directory: string};
    const holder = await startEmulator({port: 0, dataDir: directory}); // stands in for a running upload
    try {
      const busy = await b2('list');
      expect(busy.code).toBe(1);
      expect(busy.stderr).toBe(`Error: the embedded B2 store in ${directory} is in use by another command (process ${process.pid}); it serves one command at a time: run this one again when that one has finished\n`);
    } finally {
      await holder.stop();
    }
    expect((await b2('list')).code).toBe(0);
  });
});
