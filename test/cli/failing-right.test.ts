import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {readErrorLog} from '../../src/cli/error-log.js';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot, runCli} from '../helpers/run-cli.js';
import {seedLargeBackup} from '../helpers/seed-backups.js';
import {E2EWorld, expectFailure, parseJson, sha1} from '../e2e/helpers.js';

// Failing right: a closed pipe is not a failure, a key from the environment is fixed in
// the environment, a check line says its fix once, and a listing knows a streamed backup's SHA1.

let world: E2EWorld;
let big: Buffer;
let streamed: {id: string; sha1: string};

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  // 5 MB parts: a 12 MB stream goes up as a multi-part large file, which cannot carry its SHA1
  await world.addProfile('home', {...key, prefix: 'home/', partSize: '5MB'});
  big = Buffer.from(randomBytes(6_000_000).toString('hex')); // text: the CLI's stdin is given as a string
  const up = await world.b2(['upload', '-', '--name', 'streamed', '--json'], {input: big.toString()});
  expect(up.code).toBe(0);
  streamed = parseJson(up);
});

afterAll(async () => {
  await world?.close();
});

/** `b2 ARGS | head -c BYTES` in a real shell: what the CLI exited with, what head got, what it said. */
function pipedToHead(args: string[], bytes: number): Promise<{code: number; headBytes: number; stderr: string}> {
  const b2 = [process.execPath, join(cliRoot, 'bin/run.js'), 'b2', ...args, '--config', world.config].map((a) => `'${a}'`).join(' ');
  const script = `${b2} 2>"$ERR" | head -c ${bytes} | wc -c; echo "exit=\${PIPESTATUS[0]}"`;
  const errFile = join(world.dir, `stderr-${Date.now()}`);
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], {cwd: world.dir, env: {...cleanEnv(), ...world.env, ERR: errFile}}, async (err, stdout) => {
      if (err) return reject(err);
      const [count, exit] = stdout.trim().split('\n');
      resolve({code: Number(exit.replace('exit=', '')), headBytes: Number(count.trim()), stderr: await readFile(errFile, 'utf8')});
    });
  });
}

describe('a reader that closes the pipe early', () => {
  test('`download ID -o - | head -c 100` ends quietly with exit 0 and records no error', async () => {
    const r = await pipedToHead(['download', streamed.id, '-o', '-'], 100);
    expect(r).toEqual({code: 0, headBytes: 100, stderr: ''});
    // what `b2 diagnostics` reports as recent errors, read in this process
    expect(await readErrorLog(world.cliCacheDir)).toEqual([]);
  });

  test('a reader that leaves stops the download: `download ID -o - | head -c 100` of a 48 MB backup reads far less than 48 MB', async () => {
    // stored as `b2 upload` stores it with the profile's 5 MB parts, straight into the emulator: the scene, not the subject
    const {id} = await seedLargeBackup(world.emu, 'home/', {name: 'large for head', size: 48_000_000, partSize: 5_000_000});
    const before = world.emu.stats().bytesOut;
    const r = await pipedToHead(['download', id, '-o', '-'], 100);
    expect(r).toEqual({code: 0, headBytes: 100, stderr: ''});
    // what the first range and the socket buffers hold, not the whole archive
    expect(world.emu.stats().bytesOut - before).toBeLessThan(24_000_000);
  });

  test('`list | head -1` too', async () => {
    const r = await pipedToHead(['list'], 10);
    expect(r).toEqual({code: 0, headBytes: 10, stderr: ''});
  });
});

describe('advice that fits', () => {
  test('a rejected key from B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY: the fix is about those variables, not the profile', async () => {
    const r = await runCli(['b2', 'list', '--config', world.config], {
      env: {...world.env, B2_APPLICATION_KEY_ID: '0051234abcd0000000000099', B2_APPLICATION_KEY: 'K005notAWorkingKeyAtAll000000'},
      cwd: world.dir,
    });
    expectFailure(r, 3, /set B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY to a working key/, world.secrets);
    expect(r.stderr).not.toContain('profile update');
    // one clause, not the profile's fix template with the variables' fix spliced in
    expect(r.stderr).toMatch(/\(B2 answered [^)]*\); set B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY to a working key/);
    expect(r.stderr).not.toContain('with: set');
  });

  test('a missing bucket: the check line says its fix once', async () => {
    const key = await world.createKey();
    await world.addProfile('nobucket', {...key, bucket: 'no-such-bucket-here', check: false});
    const r = await world.b2(['profile', 'check', 'nobucket']);
    expect(r.code).toBe(3);
    const line = r.stdout.split('\n').find((l) => l.includes('Bucket')) ?? '';
    expect(line).toMatch(/^fail\s+Bucket\s+bucket no-such-bucket-here of profile nobucket does not exist or this key may not use it; fix: backup-b2 b2 profile update nobucket --config \S+ --bucket …$/);
    expect(line.split('--bucket')).toHaveLength(2);
  });

  test('a missing bucket in profile add: the fix is the --bucket flag of the add, nothing is saved', async () => {
    const key = await world.createKey();
    const r = await world.b2(world.profileAddArgs('newbucket', {...key, bucket: 'no-such-bucket-there'}));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^fail\s+Bucket\s+bucket no-such-bucket-there of profile newbucket does not exist or this key may not use it; fix: backup-b2 b2 profile add newbucket --config \S+ … --bucket …$/m);
    expect(r.stderr).not.toContain('profile update');
  });
});

describe('a backup streamed from stdin', () => {
  test('list --json shows the SHA1 that show and verify know', async () => {
    expect(streamed.sha1).toBe(sha1(big));
    const listed = parseJson<Array<{id: string; sha1: string | null}>>(await world.b2(['list', '--json', '--profile', 'home']));
    expect(listed.find((b) => b.id === streamed.id)?.sha1).toBe(sha1(big));
    const shown = parseJson<{sha1: string}>(await world.b2(['show', streamed.id, '--json', '--profile', 'home']));
    expect(shown.sha1).toBe(sha1(big));
    expect(parseJson<{ok: boolean; sha1: string}>(await world.b2(['verify', streamed.id, '--json', '--profile', 'home']))).toMatchObject({ok: true, sha1: sha1(big)});
  });
});

test('no secret in any output', async () => {
  world.expectNoSecretInAnyRun();
});
