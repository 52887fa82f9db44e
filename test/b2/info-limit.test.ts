import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import type {TransferProgress} from '../../src/backend.js';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {emulator, openBackend} from './helpers.js';

// B2 takes at most 7,000 bytes of file name and file info, and 2,048 for a file stored with
// server-side encryption (the profile's SSE-B2 or SSE-C, or the bucket's default) or in an
// Object Lock bucket. The provider refuses what B2 would refuse before it reads, hashes or
// sends a byte (bad input, exit 2), naming the limit, why it applies and the size found.

const PART = 100_000;
let emu: RunningEmulator;
let dir: string;
let master: string;
let accountId: string;
/** A file that goes up as a large file (3 parts), and its mtime as the provider records it. */
let largePath: string;
let largeMtime: string;
const LOCK_BUCKET = 'info-limit-lock';
const SSE_DEFAULT_BUCKET = 'info-limit-sse-default';

/** The calls that would start storing a file; none may happen before a refusal. */
const WRITES = ['b2_get_upload_url', 'b2_upload_file', 'b2_start_large_file', 'b2_get_upload_part_url', 'b2_upload_part', 'b2_copy_file', 'b2_copy_part'];
const writes = () => WRITES.filter((c) => (emu.stats().calls[c] ?? 0) > 0);

async function createBucket(name: string, settings: Record<string, unknown>): Promise<void> {
  const made = await api(emu, master, 'b2_create_bucket', {accountId, bucketName: name, bucketType: 'allPrivate', ...settings});
  expect(made.status).toBe(200);
}

const open = (opts: Parameters<typeof openBackend>[1] = {}) => openBackend(emu, {uploadCutoff: PART, partSize: PART, ...opts});

/**
 * Metadata that brings `fileName` plus every info entry sent (`own`: the provider's own,
 * which B2 counts too) to exactly `total` bytes of UTF-8, partly in two-byte characters.
 */
function metadataFor(fileName: string, total: number, own: Record<string, string> = {}): Record<string, string> {
  const host = 'é'; // 2 bytes of UTF-8: bytes are counted, not characters
  const used = Buffer.byteLength(fileName) + Object.entries(own).reduce((n, [k, v]) => n + k.length + v.length, 0) + 'host'.length + Buffer.byteLength(host) + 'note'.length;
  return {host, note: 'x'.repeat(total - used)};
}

/** The info a large upload from largePath adds: its mtime and the whole file's SHA1. */
const largeOwn = () => ({src_last_modified_millis: largeMtime, large_file_sha1: '0'.repeat(40)});

async function refusal(p: Promise<unknown>): Promise<BackupError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BackupError);
  return err as BackupError;
}

beforeAll(async () => {
  emu = await emulator({minPartSize: PART, recommendedPartSize: PART});
  const auth = await authorizeRaw(emu);
  master = auth.authorizationToken;
  accountId = auth.accountId;
  // Object Lock alone must set the limit here: a bucket b2_create_bucket makes now also
  // encrypts by default, so this is an existing bucket B2 has not enabled for that yet,
  // given Object Lock by b2_update_bucket.
  const lockBucket = await emu.createBucket(LOCK_BUCKET);
  expect((await api(emu, master, 'b2_update_bucket', {accountId, bucketId: lockBucket.bucketId, fileLockEnabled: true})).status).toBe(200);
  await createBucket(SSE_DEFAULT_BUCKET, {defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
  dir = await mkdtemp(join(tmpdir(), 'b2-info-limit-'));
  largePath = join(dir, 'large.tar');
  await writeFile(largePath, randomBytes(2 * PART + 1234));
  largeMtime = String(Math.floor((await stat(largePath)).mtimeMs));
});

afterAll(async () => {
  await emu?.stop();
  await rm(dir, {recursive: true, force: true});
});

describe('a profile with SSE-B2: 2,048 bytes', () => {
  let backend: B2Backend;
  beforeAll(async () => {
    backend = await open({encryption: {mode: 'SSE-B2'}});
  });

  test('a large file just over is refused before it is hashed or any upload call; just under goes up', async () => {
    const name = 'backups/sse/large-over.tar';
    emu.resetStats();
    const progress: TransferProgress[] = [];
    const err = await refusal(backend.put('sse/large-over.tar', {path: largePath}, {metadata: metadataFor(name, 2049, largeOwn()), onProgress: (p) => progress.push(p)}));
    expect(err.kind).toBe('bad_input');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/^"backups\/sse\/large-over\.tar": its name and file info take 2,049 bytes, more than the 2,048 B2 allows for a file with server-side encryption or in an Object Lock bucket \(the profile encrypts it with SSE-B2\); nothing was uploaded; use a shorter name, prefix or metadata$/);
    expect(writes()).toEqual([]);
    expect(progress).toEqual([]); // not even the hashing pass

    const under = 'backups/sse/large-under.tar';
    const stored = await backend.put('sse/large-under.tar', {path: largePath}, {metadata: metadataFor(under, 2048, largeOwn())});
    expect(stored.size).toBe(2 * PART + 1234);
    expect(emu.stats().calls.b2_start_large_file).toBe(1);
  });

  test('a buffer and a stream just over are refused before any upload call; a buffer just under goes up', async () => {
    emu.resetStats();
    const small = await refusal(backend.put('sse/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/sse/small.bin', 2049)}));
    expect(small.message).toMatch(/take 2,049 bytes, more than the 2,048 B2 allows .*SSE-B2/);
    const stream = Readable.from([randomBytes(3 * PART)]);
    const piped = await refusal(backend.put('sse/piped.bin', stream, {metadata: metadataFor('backups/sse/piped.bin', 2049)}));
    expect(piped.kind).toBe('bad_input');
    expect(writes()).toEqual([]);
    await backend.put('sse/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/sse/small.bin', 2048)});
  });

  test('planPut (upload --dry-run) refuses it the same way, reading nothing', async () => {
    emu.resetStats();
    const err = await refusal(backend.planPut('sse/plan.tar', {path: largePath}, {metadata: metadataFor('backups/sse/plan.tar', 2049, largeOwn())}));
    expect(err.message).toMatch(/take 2,049 bytes, more than the 2,048 B2 allows .*SSE-B2/);
    expect(emu.stats().calls.b2_list_unfinished_large_files ?? 0).toBe(0);
  });
});

test('a profile with SSE-C: 2,048 bytes', async () => {
  const backend = await open({encryption: {mode: 'SSE-C', key: randomBytes(32).toString('base64')}});
  emu.resetStats();
  const err = await refusal(backend.put('ssec/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/ssec/small.bin', 2049)}));
  expect(err.message).toMatch(/2,048 B2 allows .*\(the profile encrypts it with SSE-C\)/);
  expect(writes()).toEqual([]);
});

test('a bucket with Object Lock: 2,048 bytes, refused before any upload call; just under goes up', async () => {
  const backend = await open({bucket: LOCK_BUCKET});
  emu.resetStats();
  const err = await refusal(backend.put('lock/large.tar', {path: largePath}, {metadata: metadataFor('backups/lock/large.tar', 2049, largeOwn())}));
  expect(err.exitCode).toBe(2);
  expect(err.message).toMatch(/take 2,049 bytes, more than the 2,048 B2 allows for a file with server-side encryption or in an Object Lock bucket \(bucket info-limit-lock has Object Lock enabled\); nothing was uploaded/);
  expect(writes()).toEqual([]);
  await backend.put('lock/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/lock/small.bin', 2048)});
});

test('a bucket whose default encryption is SSE-B2, the profile asking none: 2,048 bytes (B2 stores the file encrypted)', async () => {
  const backend = await open({bucket: SSE_DEFAULT_BUCKET});
  emu.resetStats();
  const err = await refusal(backend.put('dflt/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/dflt/small.bin', 2049)}));
  expect(err.message).toMatch(/\(bucket info-limit-sse-default encrypts new files with SSE-B2 by default\)/);
  expect(writes()).toEqual([]);
  await backend.put('dflt/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/dflt/small.bin', 2048)});
});

test('a key that may not read the bucket\'s default encryption (a backup key): 2,048 bytes, as B2 now encrypts by default; the reason says how to have it checked', async () => {
  // the capabilities the README gives a backup key: no readBucketEncryption
  const capabilities = ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles'];
  const made = await api(emu, master, 'b2_create_key', {accountId, capabilities, keyName: 'backup-key'});
  expect(made.status).toBe(200);
  const backend = await open({keyId: made.json.applicationKeyId, applicationKey: made.json.applicationKey});
  emu.resetStats();
  const err = await refusal(backend.put('unread/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/unread/small.bin', 2049)}));
  expect(err.message).toMatch(/take 2,049 bytes, more than the 2,048 B2 allows .*\(B2 encrypts new files with SSE-B2 by default and this key may not read whether bucket \S+ does: a key with readBucketEncryption lets that be checked\)/);
  expect(writes()).toEqual([]);
  await backend.put('unread/small.bin', Buffer.from('data'), {metadata: metadataFor('backups/unread/small.bin', 2048)});
  await backend.close();
});

test('without encryption or Object Lock: 2,049 to 7,000 bytes go up (small and large); 7,001 is refused before any upload call', async () => {
  const backend = await open();
  for (const total of [2049, 7000]) {
    await backend.put(`plain/${total}.bin`, Buffer.from('data'), {metadata: metadataFor(`backups/plain/${total}.bin`, total)});
    await backend.put(`plain/${total}.tar`, {path: largePath}, {metadata: metadataFor(`backups/plain/${total}.tar`, total, largeOwn())});
  }
  emu.resetStats();
  const err = await refusal(backend.put('plain/7001.bin', Buffer.from('data'), {metadata: metadataFor('backups/plain/7001.bin', 7001)}));
  expect(err.message).toMatch(/take 7,001 bytes, more than the 7,000 B2 allows; nothing was uploaded/);
  expect(writes()).toEqual([]);
});

describe('server-side copies: the destination decides', () => {
  const key = 'copy/source.bin';
  let source: B2Backend;
  beforeAll(async () => {
    source = await open({prefix: 'src/'});
    await source.put(key, randomBytes(1000), {metadata: metadataFor(`src/${key}`, 2100)});
  });

  test('into an SSE-B2 profile a copy whose file info no longer fits is refused before any copy call; into a plain one it is made', async () => {
    const encrypted = await open({prefix: 'enc/', encryption: {mode: 'SSE-B2'}});
    emu.resetStats();
    const err = await refusal(source.copyTo(key, {backend: encrypted, key}));
    // the copy's info also names its source version (copy_source_file_id): counted with it
    expect(err.message).toMatch(/^"enc\/copy\/source\.bin": its name and file info take 2,\d{3} bytes, more than the 2,048 B2 allows .*\(the profile encrypts it with SSE-B2\); nothing was copied; copy it to a location with a shorter prefix/);
    expect(writes()).toEqual([]);
    const plain = await open({prefix: 'plain-copy/'});
    const copied = await source.copyTo(key, {backend: plain, key});
    expect(copied.metadata.note).toHaveLength(metadataFor(`src/${key}`, 2100).note.length);
  });

  test('a large copy (parts) into an Object Lock bucket is refused before it starts', async () => {
    await source.put('copy/large.tar', {path: largePath}, {metadata: metadataFor('src/copy/large.tar', 2100, largeOwn())});
    const locked = await open({bucket: LOCK_BUCKET});
    emu.resetStats();
    const err = await refusal(source.copyTo('copy/large.tar', {backend: locked, key: 'copy/large.tar'}));
    expect(err.message).toMatch(/\(bucket info-limit-lock has Object Lock enabled\); nothing was copied/);
    expect(writes()).toEqual([]);
  });
});
