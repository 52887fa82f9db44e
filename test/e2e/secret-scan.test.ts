import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {filesUnder, findLeaks, needles} from '../secret-scan/scan.mjs';
import {E2EWorld} from './helpers.js';

// Every command, succeeding and failing, with DEBUG='*' and tokens expiring under it;
// then every byte it printed and every file it left in its config, cache and data dirs
// (error log, metadata cache, pending-upload records) is searched for the application
// keys and for anything shaped like a key or an authorization token. (The whole suite's
// output gets the same scan at the end of the run: test/secret-scan/global-teardown.mjs.)

let world: E2EWorld;
let key: {keyId: string; applicationKey: string};
const DEBUG = {DEBUG: '*'};
const results: Array<{args: string[]; code: number}> = [];


async function run(args: string[], opts: {input?: string; env?: Record<string, string>} = {}): Promise<{code: number; stdout: string}> {
  const r = await world.b2(args, {input: opts.input, env: {...DEBUG, ...opts.env}});
  results.push({args: args.slice(0, 3), code: r.code});
  return r;
}

beforeAll(async () => {
  world = await E2EWorld.start({expireTokensEvery: 7}); // re-authorizations happen under DEBUG too
  key = await world.createKey();
  await writeFile(join(world.dir, 'small.tar'), randomBytes(50_000));
  await writeFile(join(world.dir, 'big.tar'), randomBytes(11_000_000)); // three 5 MB parts: the large-file path
});
afterAll(async () => {
  await world?.close();
});

describe("a DEBUG='*' tour of every command leaves no secret anywhere", () => {
  test('the tour', async () => {
    const home = ['--profile', 'home'];
    expect((await run(['profile', 'add', 'home', '--key-id', key.keyId, `--application-key=${key.applicationKey}`, '--bucket', world.emu.bucket, '--endpoint', world.emu.url, '--prefix', 'tour/', '--part-size', '5MB'])).code).toBe(0);
    for (const args of [['profile', 'list'], ['profile', 'show', 'home'], ['profile', 'check', 'home'], ['profile', 'update', 'home', '--application-key', key.applicationKey, '--concurrency', '2']]) {
      expect((await run(args)).code).toBe(0);
    }
    const small = (await run(['upload', join(world.dir, 'small.tar'), ...home])).stdout.trim();
    const big = (await run(['upload', join(world.dir, 'big.tar'), '--name', 'big', ...home])).stdout.trim();
    expect((await run(['upload', '-', '--name', 'stdin', ...home], {input: 'streamed\n'.repeat(1000)})).code).toBe(0);
    for (const args of [['list'], ['list', '--json'], ['show', small], ['verify', big], ['download', big, '-o', join(world.dir, 'restored.tar')], ['download', small, '-o', '-'], ['cleanup', '--dry-run'], ['cleanup'], ['delete', small, '--yes'], ['diagnostics']]) {
      expect({args, code: (await run([...args, ...home])).code}).toEqual({args, code: 0});
    }
    // failures
    const wrong = `K005${'w'.repeat(27)}`;
    world.secrets.push(wrong);
    expect((await run(['list', ...home], {env: {B2_APPLICATION_KEY_ID: key.keyId, B2_APPLICATION_KEY: wrong}})).code).toBe(3);
    expect((await run(['profile', 'add', 'forgot', key.applicationKey, '--key-id', key.keyId, '--bucket', world.emu.bucket])).code).toBe(2);
    expect((await run(['profile', 'update', 'home', '--application-key', wrong])).code).toBe(3); // checked before saving: refused
    expect((await run(['show', 'deadbeefdeadbeef', ...home])).code).toBe(4);
    world.emu.faults.expireAllTokens();
    expect((await run(['list', ...home])).code).toBe(0);
    expect((await run(['diagnostics', ...home])).code).toBe(0);
    expect(results.length).toBeGreaterThanOrEqual(24);
  }, 32 * 15_000); // 32 CLI runs one after another: the limit grows with the count, not a guess of the machine's speed

  test('nothing printed or left behind holds a key or a token, not even a piece of one', async () => {
    const pieces = needles(world.secrets);
    const leaks: string[] = [];
    let bytes = 0;
    for (const [i, o] of world.outputs.entries()) {
      const buf = Buffer.from(`${o.stdout}\n${o.stderr}`, 'latin1');
      bytes += buf.length;
      expect(o.stderr).toContain('oclif'); // DEBUG output really was there
      leaks.push(...findLeaks(`run ${i} (${o.args.slice(0, 2).join(' ')})`, buf, pieces));
    }
    for (const dir of ['config', 'cache', 'data']) {
      for (const [path, buf] of filesUnder(join(world.dir, dir))) {
        bytes += buf.length;
        leaks.push(...findLeaks(path, buf, pieces));
      }
    }
    const errorLog = await readFile(join(world.dir, 'cache', 'backup-plugin-b2', 'recent-errors.json'), 'utf8');
    expect(JSON.parse(errorLog).length).toBeGreaterThanOrEqual(4);
    expect(bytes).toBeGreaterThan(100_000);
    expect(leaks).toEqual([]);
  });

  test('the scan finds what it looks for', () => {
    const pieces = needles([key.applicationKey]);
    expect(findLeaks('planted', Buffer.from(`…${key.applicationKey.slice(5, 21)}…`), pieces)).not.toEqual([]);
    expect(findLeaks('shape', Buffer.from(`K005${'a'.repeat(27)}`), [])).toEqual(['shape: an application key at byte 0']);
    expect(findLeaks('token', Buffer.from(`4_002_abcdefgh${'x'.repeat(32)}`), [])).toEqual(['token: an authorization token at byte 0']);
    expect(findLeaks('clean', Buffer.from('nothing here'), pieces)).toEqual([]);
    // it looks up 8-character windows: pieces of another length are refused, never silently missed
    expect(() => findLeaks('odd', Buffer.from(key.applicationKey), [key.applicationKey])).toThrow(/pieces must be 8 characters long/);
  });
});
