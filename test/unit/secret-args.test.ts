import {describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, readFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {errorLogPath, recordError} from '../../src/cli/error-log.js';
import {SECRET_FLAGS, secretArgs} from '../../src/cli/secret-args.js';
import {looksLikeKey} from '../../src/redact.js';
import {FLAG_OF} from '../../src/profiles/flags.js';
import {SECRET_FIELDS} from '../../src/profiles/schema.js';
import {repoRoot} from '../helpers/host-cli.js';

/** A 256-bit SSE-C key as `openssl rand -base64 32` prints it, with a '/' and a '+' in it. */
function base64Key(): string {
  for (;;) {
    const key = randomBytes(32).toString('base64');
    if (key.includes('/') && key.includes('+')) return key;
  }
}

describe('one list of secret flags', () => {
  test('every flag of every command named like a key, token, secret or password is in it', async () => {
    const manifest = JSON.parse(await readFile(join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>};
    const named = Object.values(manifest.commands).flatMap((c) => Object.keys(c.flags)).filter((f) => /(^|-)(key|token|secret|password)$/.test(f));
    expect(named.length).toBeGreaterThan(0);
    for (const flag of named) expect(SECRET_FLAGS).toContain(`--${flag}`);
  });

  test("every secret field of a profile has its flag in it", () => {
    expect(SECRET_FIELDS).toEqual(expect.arrayContaining(['applicationKey', 'encryptionKey']));
    for (const field of SECRET_FIELDS) expect(SECRET_FLAGS).toContain(`--${FLAG_OF[field]}`);
  });

  test('secretArgs finds the values of all of them, as `--flag value` and as `--flag=value`', () => {
    const sse = base64Key();
    const argv = ['b2', 'profile', 'add', 'h', '--application-key', 'K005SecretSecretSecretSecret123', `--encryption-key=${sse}`, '--bucket', 'home-backups'];
    expect(secretArgs(argv)).toEqual(['K005SecretSecretSecretSecret123', sse]);
    expect(secretArgs(['--encryption-key', sse, '--application-key=abc=def'])).toEqual([sse, 'abc=def']);
    expect(secretArgs(['--bucket', 'home-backups', '--key-id', 'K005abc'])).toEqual([]);
  });

  test('the error log scrubs an --encryption-key value, in either form', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secret-args-'));
    const sse = base64Key();
    for (const argv of [['--encryption-key', sse], [`--encryption-key=${sse}`]]) {
      await recordError(dir, {time: new Date().toISOString(), command: 'b2:profile:add', kind: 'config', exitCode: 2, message: `a library said ${sse}`}, argv);
    }
    const log = await readFile(errorLogPath(dir), 'utf8');
    expect(log).toContain('a library said [redacted]');
    expect(log).not.toContain(sse.slice(0, 12));
  });
});

describe('the key-shaped fallback (a key given without its flag name)', () => {
  test('B2 application keys, base64url and base64 keys with "/", "+" and "=" are key-shaped', () => {
    expect(looksLikeKey('K005SecretSecretSecretSecret123')).toBe(true);
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(32); // an SSE-C key: 44 characters ending in "=", '/' in about half of them
      expect([bytes.toString('base64'), bytes.toString('base64url')].filter((k) => !looksLikeKey(k))).toEqual([]);
    }
    expect(looksLikeKey(base64Key())).toBe(true);
    expect(looksLikeKey('/q0Xy+7ZbN3kLmP9rT2vW5sA8dF1gH4jK6lC0oE3uIA=')).toBe(true); // padded: even when it starts with '/'
    expect(looksLikeKey('q0Xy+7ZbN3kLmP9rT2vW5sA8dF1gH4j/K6lC0oE3uIab')).toBe(true); // unpadded (openssl rand -base64 33)
  });

  test('ordinary paths, prefixes, names and URLs are not', () => {
    for (const arg of [
      '/home/user/backups',
      '/var/lib/backup-b2/data',
      '/mnt/nas/Backups/HomeAssistant',
      '/mnt/nas/Backups/HomeAssistant2024',
      '/mnt/nas/Backups/HomeAssistant2024/daily01',
      '/srv/Backups2024/HomeAssistant/Full/A1b2',
      'Documents/Backups2024/daily',
      'backups/home-assistant/daily/',
      '/tmp/run-cli-12345/config',
      '/tmp/b2-secret-capture-AbC123',
      '/home/user/backup.tar',
      'http://127.0.0.1:8080',
      'home/',
      '5MB/s',
      'nightly',
    ]) expect({arg, keyShaped: looksLikeKey(arg)}).toEqual({arg, keyShaped: false});
  });
});
