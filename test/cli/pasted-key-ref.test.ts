import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {refHidesKey, resolveSecret, shownRef} from '../../src/profiles/secrets.js';
import {captureSecrets} from '../helpers/capture.js';
import {runCli} from '../helpers/run-cli.js';

// A key pasted after the `env:` or `file:` of the README's example (`applicationKey:
// env:K005…`) is still a key: no message, listing, error log or diagnostic may show it,
// not even in part.

/** A B2 application key: "K005" and 27 characters of base62 (mixed case and digits). */
function appKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return `K005${[...randomBytes(27)].map((b) => alphabet[b % 62]).join('')}`;
}

/** An SSE-C key as `openssl rand -base64 32` prints it. */
const sseKey = (): string => randomBytes(32).toString('base64');

/** Every 8-character piece of a key: what "not even in part" rules out. */
const pieces = (key: string): string[] => Array.from({length: key.length - 7}, (_, i) => key.slice(i, i + 8));

describe('which references may hold the key itself', () => {
  test('a B2 application key or an SSE-C key after env: or file: (also as one step of an absolute path) is hidden', () => {
    for (let i = 0; i < 200; i++) {
      const keys = [appKey(), sseKey()];
      const refs = keys.flatMap((key) => [`env:${key}`, `file:${key}`, `file:/home/me/backups/${key}`]);
      expect(refs.filter((ref) => !refHidesKey(ref))).toEqual([]);
    }
  });

  test('variable names and paths people write stay visible', () => {
    const ordinary = ['env:B2_APPLICATION_KEY', 'env:HOME_B2_KEY', 'env:home_key', 'env:MY_VERY_LONG_B2_APPLICATION_KEY_NAME_2', 'file:~/.config/b2/home.key',
      'file:/etc/backup/b2-application-key-home', 'file:keys/b2_key', 'file:/run/secrets/b2_application_key', 'file:./B2Key1'];
    expect(ordinary.filter((ref) => refHidesKey(ref))).toEqual([]);
    expect(ordinary.map((ref) => shownRef(ref))).toEqual(ordinary);
  });

  test('the reason a hidden reference cannot be read does not contain it', () => {
    const key = appKey();
    for (const ref of [`env:${key}`, `file:${key}`]) {
      const result = resolveSecret(ref, {env: {}, baseDir: tmpdir()});
      expect(result).toEqual({problem: expect.stringMatching(/looks like a key, not a (variable name|path) \(not shown\)/)});
      for (const piece of pieces(key)) expect(JSON.stringify(result)).not.toContain(piece);
    }
  });
});

describe('through the CLI: profiles files with keys pasted after env: and file:', () => {
  let dir: string;
  let cache: string;
  const appKeys = [appKey(), appKey()];
  const sseKeys = [sseKey(), sseKey()];
  const profile = (name: string, fields: string) => `  ${name}:\n    keyId: 0051234abcd0000000000001\n    bucket: home-backups-123456\n${fields}`;
  // one file per way to fail: a file is refused as a whole at its first bad line
  const files: Record<string, string> = {
    // both valid as written (a variable name, a path): they fail when the key is read
    app: `profiles:\n${profile('envapp', `    applicationKey: env:${appKeys[0]}\n`)}${profile('fileapp', `    applicationKey: file:${appKeys[1]}\n`)}`,
    // "env:" and base64 is no variable name: refused when the file is read
    envsse: `profiles:\n${profile('envsse', `    applicationKey: env:HOME_B2_KEY\n    encryption: SSE-C\n    encryptionKey: env:${sseKeys[0]}\n`)}`,
    filesse: `profiles:\n${profile('filesse', `    applicationKey: env:HOME_B2_KEY\n    encryption: SSE-C\n    encryptionKey: file:${sseKeys[1]}\n`)}`,
  };

  beforeAll(async () => {
    captureSecrets([...appKeys, ...sseKeys]);
    dir = await mkdtemp(join(tmpdir(), 'pasted-key-'));
    cache = join(dir, 'cache');
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, `${name}.yaml`), text, {mode: 0o600});
  });
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true});
  });

  const b2 = (file: string, args: string[]) => runCli(['b2', ...args, '--config', join(dir, `${file}.yaml`)], {env: {HOME_B2_KEY: 'K005notarealkeynotarealkey12345', XDG_CACHE_HOME: cache, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data')}});

  test('commands fail with one line that says what happened, and nothing anywhere shows any part of a key', async () => {
    const failed = [await b2('app', ['list', '--profile', 'envapp']), await b2('app', ['list', '--profile', 'fileapp']), await b2('envsse', ['list']), await b2('filesse', ['list'])];
    for (const r of failed) {
      expect({code: r.code, lines: r.stderr.trim().split('\n').length}).toEqual({code: 2, lines: 1});
      expect(r.stderr).toMatch(/looks like a key, not a (variable name|path)/);
    }
    const listed = await b2('app', ['profile', 'list', '--json']);
    const keys = Object.fromEntries((JSON.parse(listed.stdout) as Array<{name: string; applicationKey: string}>).map((p) => [p.name, p.applicationKey]));
    expect(keys).toMatchObject({envapp: 'env:… (not shown: it looks like a key)', fileapp: 'file:… (not shown: it looks like a key)'});
    // an SSE-C key after file: is a valid path as written: profile show prints the profile, never the key
    const shown = [await b2('filesse', ['profile', 'show', 'filesse']), await b2('filesse', ['profile', 'show', 'filesse', '--json'])];
    expect(shown.map((r) => r.code)).toEqual([0, 0]);
    expect(shown[0].stdout).toMatch(/encryptionKey\s+file:… \(not shown: it looks like a key\)/);
    expect(JSON.parse(shown[1].stdout)).toMatchObject({encryptionKey: 'file:… (not shown: it looks like a key)'});
    const diagnostics = await b2('app', ['diagnostics', '--profile', 'envapp']);
    const errorLog = await readFile(join(cache, 'backup-plugin-b2', 'recent-errors.json'), 'utf8');
    expect(errorLog).toContain('looks like a key');
    const everything = [...failed, listed, ...shown, diagnostics].flatMap((r) => [r.stdout, r.stderr]).concat(errorLog).join('\n');
    const leaked = [...appKeys, ...sseKeys].flatMap(pieces).filter((piece) => everything.includes(piece));
    expect(leaked).toEqual([]);
  });
});
