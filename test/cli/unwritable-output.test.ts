import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {closeSync, existsSync, openSync} from 'node:fs';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {readErrorLog} from '../../src/cli/error-log.js';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot, runCli, type CliResult} from '../helpers/run-cli.js';
import {E2EWorld, expectFailure, parseJson} from '../e2e/helpers.js';
import {seedLargeBackup} from '../helpers/seed-backups.js';

// Output that cannot be written: stdout on a full device, an -o path or a profiles file
// where the user may not write. Each is one line naming the place and the real problem,
// with the documented exit code, never a stack trace or "unexpected error".
// Tests run as root here, so "not allowed" comes from /sys (EACCES/EPERM even for root)
// and "takes no new files" from /proc (ENOENT); /dev/full gives ENOSPC on every write.

let world: E2EWorld;
let small: {id: string};

beforeAll(async () => {
  for (const path of ['/dev/full', '/sys', '/proc/version']) {
    if (!existsSync(path)) throw new Error(`these tests need Linux's ${path}`);
  }
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: 'home/'});
  // the backup the downloads below try to write: stored as `b2 upload` stores it (no CLI run)
  small = await seedLargeBackup(world.emu, 'home/', {name: 'small', size: 200_000});
});

afterAll(async () => {
  await world?.close();
});

/** `b2 ARGS > /dev/full`: a real child whose stdout is the full device. */
async function toDevFull(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const fd = openSync('/dev/full', 'w');
  try {
    const child = spawn(process.execPath, [join(cliRoot, 'bin/run.js'), 'b2', ...args, '--config', world.config], {
      cwd: world.dir,
      env: {...cleanEnv(), ...world.env, ...env},
      stdio: ['ignore', fd, 'pipe'],
    });
    const err: Buffer[] = [];
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    const r = {code, stdout: '', stderr: Buffer.concat(err).toString('utf8')};
    world.outputs.push({args, ...r});
    return r;
  } finally {
    closeSync(fd);
  }
}

const FULL = /^Error: cannot write to standard output: no space left on device \(ENOSPC\)/;

describe('stdout that cannot take the output (`> /dev/full`)', () => {
  test('`list` says so in one line, exit 1, and records it in the error log', async () => {
    const r = await toDevFull(['list']);
    expectFailure(r, 1, FULL, world.secrets);
    expect(r.stderr).not.toMatch(/unexpected|Node\.js v/);
    // the log `b2 diagnostics` reports from (read here: diagnostics is tested in test/cli/readme-json and elsewhere)
    expect((await readErrorLog(world.cliCacheDir)).at(-1)?.message).toMatch(/cannot write to standard output: no space left on device/);
  });

  test('`list --json` too', async () => {
    const r = await toDevFull(['list', '--json']);
    expectFailure(r, 1, FULL, world.secrets);
  });

  test('`profile list` too (any command that prints)', async () => {
    const r = await toDevFull(['profile', 'list']);
    expectFailure(r, 1, FULL, world.secrets);
  });

  test('with DEBUG set, the stack trace is there', async () => {
    const r = await toDevFull(['list'], {DEBUG: 'backup-b2:none'});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(FULL);
    expect(r.stderr).toMatch(/^\s+at /m);
  });

  test('`download ID -o -` says so, exit 1, and stops its transfer: far less than the 48 MB backup is served', async () => {
    const {id} = await seedLargeBackup(world.emu, 'home/', {name: 'large', size: 48_000_000}); // one file, as `b2 upload` stores it (below its cutoff)
    const before = world.emu.stats().bytesOut;
    const r = await toDevFull(['download', id, '-o', '-']);
    expectFailure(r, 1, FULL, world.secrets);
    // what the first ranges and the socket buffers hold, not the whole archive
    expect(world.emu.stats().bytesOut - before).toBeLessThan(24_000_000);
  });
});

describe('an output path that cannot be written (exit 2, nothing changed)', () => {
  test('`download ID -o /sys/foo.tar`: permission denied, naming the path', async () => {
    const r = await world.b2(['download', small.id, '-o', '/sys/foo.tar']);
    expectFailure(r, 2, /^Error: cannot write \/sys\/foo\.tar: (permission denied \(EACCES\)|operation not permitted \(EPERM\)); /, world.secrets);
    expect(r.stderr).not.toContain('unexpected');
  });

  test('`download ID -o /proc/version --force`: its directory takes no new files, naming the path', async () => {
    const r = await world.b2(['download', small.id, '-o', '/proc/version', '--force']);
    expectFailure(r, 2, /^Error: cannot write \/proc\/version: .*\(ENOENT\); /, world.secrets);
    expect(r.stderr).not.toContain('unexpected');
  });

  test('`download ID -o /dev/full` (a device that is full): no space left, naming the path, exit 1 (bytes may have reached a device)', async () => {
    const r = await world.b2(['download', small.id, '-o', '/dev/full']);
    expectFailure(r, 1, /^Error: cannot write \/dev\/full: no space left on device \(ENOSPC\); /, world.secrets);
  });
});

describe('a profiles file where the user cannot write', () => {
  test('`profile add … --config /sys/p.yaml`: one line on the permission problem, exit 2, no "another command may be using it"', async () => {
    const key = await world.createKey();
    const r = await runCli(['b2', ...world.profileAddArgs('x', {...key, check: false}), '--config', '/sys/p.yaml'], {env: world.env, cwd: world.dir});
    world.outputs.push({args: ['profile', 'add', 'x'], stdout: r.stdout, stderr: r.stderr});
    expectFailure(r, 2, /^Error: cannot (lock|write) \/sys\/p\.yaml.*: (permission denied \(EACCES\)|operation not permitted \(EPERM\)); /, world.secrets);
    expect(r.stderr).not.toContain('another command');
  });
});

// XDG dirs that cannot be created: under /proc (a file system that takes no new entries),
// Node 20's mkdir(…, {recursive: true}) retried for ever at full CPU, ignoring Ctrl-C, and
// these commands never ended; each test's own timeout is what such code hits.
describe('data, cache and config dirs that cannot be created (under /proc): at once, one line or a warning', () => {
  const underProc = {XDG_DATA_HOME: '/proc/nonexist/data', XDG_CACHE_HOME: '/proc/nonexist/cache', XDG_CONFIG_HOME: '/proc/nonexist/config'};
  const NEVER_ENDED = 30_000;

  test('the embedded store (`list --profile local`): exit 1, the data dir, why, and XDG_DATA_HOME as the fix', async () => {
    const r = await world.b2(['list', '--profile', 'local'], {env: underProc});
    expectFailure(r, 1, /^Error: cannot start the embedded B2 store in \/proc\/nonexist\/data\/backup-plugin-b2\/embedded-b2: no such file or directory, or its directory takes no new files \(ENOENT\); make that directory writable, or set XDG_DATA_HOME to a directory you may write to$/, world.secrets);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, NEVER_ENDED);

  test('`profile add` in the default config dir: exit 2, the profiles file and why', async () => {
    const key = await world.createKey();
    const r = await runCli(['b2', ...world.profileAddArgs('x', {...key, check: false})], {env: {...world.env, ...underProc}, cwd: world.dir});
    world.outputs.push({args: ['profile', 'add', 'x'], stdout: r.stdout, stderr: r.stderr});
    expectFailure(r, 2, /^Error: cannot write \/proc\/nonexist\/config\/backup-plugin-b2\/profiles\.yaml: no such file or directory, or its directory takes no new files \(ENOENT\); /, world.secrets);
  }, NEVER_ENDED);

  test('`emulator --data-dir` under /proc: exit 2, the dir and the fix', async () => {
    const r = await runCli(['b2', 'emulator', '--data-dir', '/proc/nonexist/emulator'], {env: world.env, cwd: world.dir});
    world.outputs.push({args: ['emulator'], stdout: r.stdout, stderr: r.stderr});
    expectFailure(r, 2, /^Error: cannot use --data-dir \/proc\/nonexist\/emulator: no such file or directory, or its directory takes no new files \(ENOENT\); make that directory writable, or give a --data-dir you may write to$/, world.secrets);
  }, NEVER_ENDED);

  test('a B2 profile (locks, records and caches in those dirs): the upload and the listing still work, with a warning', async () => {
    const archive = join(world.dir, 'proc-dirs.tar');
    await writeFile(archive, randomBytes(100_000));
    const up = await world.b2(['upload', archive, '--name', 'proc-dirs', '--profile', 'home'], {env: underProc});
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/^Warning: cannot take a lock in \/proc\/nonexist\/data\/backup-plugin-b2\/upload-locks\/\S+ \(ENOENT\)/m);
    expect(up.stderr).toMatch(/^Warning: cannot record the upload in \/proc\/nonexist\/cache\/\S+ \(ENOENT\)/m);
    expect(up.stderr).toMatch(/^Warning: cannot write the metadata cache in \/proc\/nonexist\/cache\/\S+: ENOENT$/m);
    const list = await world.b2(['list', '--profile', 'home', '--json'], {env: underProc});
    expect(list.code).toBe(0);
    expect(parseJson<Array<{name: string}>>(list).map((b) => b.name)).toContain('proc-dirs');
  }, NEVER_ENDED);
});
