import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {readFileSync} from 'node:fs';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, fastRetry, openBackend} from './helpers.js';

const BACKUP_CAPS = ['listFiles', 'readFiles', 'writeFiles', 'deleteFiles'];

describe('B2 provider: keys, restrictions and check()', () => {
  let emu: RunningEmulator;

  beforeAll(async () => {
    emu = await emulator();
    await emu.createBucket('other-bucket-1');
  });

  afterAll(async () => emu.stop());

  const open = (keyId: string, applicationKey: string, extra: Record<string, unknown> = {}) => openBackend(emu, {keyId, applicationKey, ...extra});
  const failure = (p: Promise<unknown>) => p.then(() => {
    throw new Error('expected a failure');
  }, (e) => e);

  test('wrong credentials: invalid_credentials, with the fix, and no secret in the message', async () => {
    const err = await failure(open(emu.keyId, 'K000wrongwrongwrong'));
    expect(isBackupError(err, 'invalid_credentials')).toBe(true);
    expect(err.message).toContain('key ID or application key is wrong');
    expect(err.message).toContain('backup-b2 b2 profile update test');
    expect(err.message).not.toContain('K000wrongwrongwrong');
  });

  test('unreachable endpoint: network error naming the host', async () => {
    const err = await failure(openBackend(emu, {endpoint: 'http://127.0.0.1:1', retry: {...fastRetry().retry, maxAttempts: 2}}));
    expect(isBackupError(err, 'network')).toBe(true);
    expect(err.message).toContain('127.0.0.1:1');
  });

  test('requests carry the User-Agent, and only our policy retries (the library\'s own retry is off)', async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers['user-agent']);
      res.writeHead(503, {'content-type': 'application/json'}).end(JSON.stringify({status: 503, code: 'service_unavailable', message: 'busy'}));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const {port} = server.address() as AddressInfo;
      const err = await failure(openBackend(emu, {endpoint: `http://127.0.0.1:${port}`, retry: {...fastRetry().retry, maxAttempts: 3}}));
      expect(isBackupError(err, 'failure')).toBe(true);
      const {version} = JSON.parse(readFileSync('package.json', 'utf8'));
      expect(seen).toEqual(Array(3).fill(`backup-plugin-b2/${version}`));
    } finally {
      server.close();
    }
  });

  test('a key restricted to another bucket: bucket_unavailable naming both buckets', async () => {
    const k = await emu.createKey({capabilities: BACKUP_CAPS, bucketName: 'other-bucket-1'});
    const err = await failure(open(k.keyId, k.applicationKey));
    expect(isBackupError(err, 'bucket_unavailable')).toBe(true);
    expect(err.message).toContain('other-bucket-1');
    expect(err.message).toContain(emu.bucket);
  });

  test('a bucket that does not exist: bucket_unavailable', async () => {
    const err = await failure(openBackend(emu, {bucket: 'no-such-bucket-9'}));
    expect(isBackupError(err, 'bucket_unavailable')).toBe(true);
  });

  test('a key restricted to a name prefix the profile prefix is outside: prefix_not_allowed quoting it', async () => {
    const k = await emu.createKey({capabilities: BACKUP_CAPS, bucketName: emu.bucket, namePrefix: 'ha/'});
    const err = await failure(open(k.keyId, k.applicationKey, {prefix: 'backups/'}));
    expect(isBackupError(err, 'prefix_not_allowed')).toBe(true);
    expect(err.message).toContain('"ha/"');
    const ok = await open(k.keyId, k.applicationKey, {prefix: 'ha/backups/'});
    await ok.put('x.txt', Buffer.from('inside'));
    expect((await ok.stat('x.txt'))?.size).toBe(6);
    expect(await ok.delete('x.txt')).toBe(true);
  });

  test('a missing capability names it when the call needs it', async () => {
    const k = await emu.createKey({capabilities: ['listFiles', 'readFiles', 'writeFiles'], bucketName: emu.bucket});
    const b = await open(k.keyId, k.applicationKey);
    await b.put('cap/x.txt', Buffer.from('x'));
    const err = await failure(b.delete('cap/x.txt'));
    expect(isBackupError(err, 'missing_capabilities')).toBe(true);
    expect(err.message).toContain('deleteFiles');
    const report = await b.check();
    expect(report.ok).toBe(false);
    const caps = report.items.find((i) => i.id === 'capabilities');
    expect(caps?.status).toBe('fail');
    expect(caps?.message).toContain('deleteFiles');
  });

  test('a key revoked while in use: key_expired with the exact command to put in a new key', async () => {
    const k = await emu.createKey({capabilities: BACKUP_CAPS, bucketName: emu.bucket});
    const b = await open(k.keyId, k.applicationKey, {profileName: 'home'});
    await b.put('rev/a.txt', Buffer.from('a'));
    await emu.deleteKey(k.keyId);
    emu.faults.expireAllTokens();
    const err = await failure(b.put('rev/b.txt', Buffer.from('b')));
    expect(isBackupError(err, 'key_expired')).toBe(true);
    expect(err.message).toContain('backup-b2 b2 profile update home --key-id … --application-key …');
  });

  test('a key that has expired: key_expired at open, and check() says so', async () => {
    const k = await emu.createKey({capabilities: BACKUP_CAPS, bucketName: emu.bucket, validDurationSeconds: 1});
    await new Promise((r) => setTimeout(r, 1100));
    const err = await failure(open(k.keyId, k.applicationKey, {profileName: 'home'}));
    expect(isBackupError(err, 'key_expired')).toBe(true);
    expect(err.message).toContain('backup-b2 b2 profile update home --key-id … --application-key …');
  });

  test('check(): every item ok for a good key, with warnings for an expiring key and foreign files', async () => {
    const k = await emu.createKey({capabilities: BACKUP_CAPS, bucketName: emu.bucket, validDurationSeconds: 3 * 24 * 3600});
    const b = await open(k.keyId, k.applicationKey, {prefix: 'checked/'});
    let report = await b.check();
    expect(report.ok).toBe(true);
    expect(report.items.map((i) => i.id)).toEqual(['credentials', 'key_expiry', 'bucket', 'bucket_private', 'encryption', 'object_lock', 'capabilities', 'prefix', 'foreign_files']);
    expect(report.items.find((i) => i.id === 'key_expiry')?.status).toBe('warn');
    expect(report.items.find((i) => i.id === 'foreign_files')?.status).toBe('ok');
    await b.put('notes.txt', Buffer.from('not a backup'));
    await b.put('2026-01-01.tar', Buffer.from('backup'));
    report = await b.check();
    const foreign = report.items.find((i) => i.id === 'foreign_files');
    expect(foreign?.status).toBe('warn');
    expect(foreign?.message).toContain('checked/notes.txt');
    expect(foreign?.message).not.toContain('.tar');
    expect(b.keyInfo()).toMatchObject({capabilities: BACKUP_CAPS, bucketRestriction: emu.bucket, expiresAt: expect.any(Date)});
  });

  test('bad options fail up front with one clear line', async () => {
    for (const [opts, word] of [[{concurrency: 0}, 'concurrency'], [{prefix: '/abs'}, 'prefix'], [{endpoint: 'embedded'}, 'endpoint'], [{endpoint: 'ftp:x'}, 'endpoint'], [{partSize: 1.5}, 'partSize']] as const) {
      const err = await failure(B2Backend.open({keyId: 'k', applicationKey: 's', bucket: 'some-bucket', ...opts}));
      expect(isBackupError(err, 'bad_input')).toBe(true);
      expect(err.message).toContain(word);
    }
  });

  test('metadata that B2 cannot carry is refused before upload', async () => {
    const b = await openBackend(emu);
    for (const metadata of [{'bad key': 'x'}, {large_file_sha1: 'x'}, Object.fromEntries(Array.from({length: 9}, (_, i) => [`k${i}`, 'v']))]) {
      const err = await failure(b.put('meta/bad.txt', Buffer.from('x'), {metadata}));
      expect(isBackupError(err, 'bad_input')).toBe(true);
    }
    expect(await b.stat('meta/bad.txt')).toBeUndefined();
  });

  test('a ResolvedProfile is accepted as it is', async () => {
    const b = await B2Backend.open({name: 'home', keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, prefix: 'p/', endpoint: emu.url, concurrency: 2});
    expect(b.prefix).toBe('p/');
    await b.put('x', Buffer.from('1'));
    expect((await b.stat('x'))?.key).toBe('x');
  });

  test('checkProfile: a profile that cannot open still gets every problem as an item with its fix', async () => {
    const k = await emu.createKey({capabilities: ['listFiles', 'readFiles'], bucketName: 'other-bucket-1', namePrefix: 'ha/'});
    const base = {keyId: k.keyId, applicationKey: k.applicationKey, bucket: emu.bucket, prefix: 'backups/', endpoint: emu.url, profileName: 'home'};
    const report = await B2Backend.checkProfile(base);
    expect(report.ok).toBe(false);
    const status = Object.fromEntries(report.items.map((i) => [i.id, i.status]));
    expect(status).toMatchObject({credentials: 'ok', bucket: 'fail', capabilities: 'fail', prefix: 'fail'});
    expect(report.items.find((i) => i.id === 'bucket')?.message).toContain('restricted to bucket other-bucket-1');
    expect(report.items.find((i) => i.id === 'capabilities')?.message).toContain('writeFiles, deleteFiles');
    expect(report.items.find((i) => i.id === 'prefix')?.message).toContain('"ha/"');
    for (const item of report.items.filter((i) => i.status !== 'ok')) expect(item.fix).toBeTruthy();
    const wrong = await B2Backend.checkProfile({...base, applicationKey: 'K000nope-nope-nope'});
    expect(wrong.items).toEqual([expect.objectContaining({id: 'credentials', status: 'fail', fix: expect.stringContaining('backup-b2 b2 profile update home')})]);
    expect(JSON.stringify(wrong)).not.toContain('K000nope-nope-nope');
  });
});
