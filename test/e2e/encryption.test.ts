import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {parse, stringify} from 'yaml';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {buildTar} from '../helpers/tar-builder.js';
import {BACKUP_CAPABILITIES, E2EWorld, expectFailure, parseJson, sha1} from './helpers.js';

// Server-side encryption from the CLI: a profile with encryption SSE-B2 or SSE-C (and
// an encryptionKey), every upload/part/download carrying what B2 needs; SSE-C backups
// cannot be read without their key (exit 3, one line), and the key never appears in
// any output, error log or cache. The key goes only to SSE-C files: the emulator refuses
// it on any other (refuseKeyOnPlainFiles, as S3 servers do), and a profile that switched
// to SSE-C still restores the backups it made before.

let world: E2EWorld;
let key: {keyId: string; applicationKey: string};
const sseKey = randomBytes(32).toString('base64');
const otherKey = randomBytes(32).toString('base64');
const archive = () => join(world.dir, 'big.tar');
let data: Buffer;

/** Every stored version under a prefix, with its encryption (read with the master key). */
async function stored(prefix: string): Promise<Array<{fileName: string; serverSideEncryption: {mode: string | null}}>> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: world.emu.bucketId, prefix, maxFileCount: 1000});
  return r.json.files;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true}).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  world = await E2EWorld.start({refuseKeyOnPlainFiles: true});
  world.addSecrets(sseKey, otherKey); // in the suite-wide secret scan too
  key = await world.createKey({capabilities: [...BACKUP_CAPABILITIES, 'readBucketEncryption']});
  data = randomBytes(12 * 1_000_000); // 3 parts of 5 MB: parts carry the key too
  await writeFile(archive(), data);
  await writeFile(join(world.dir, 'sse.key'), `${sseKey}\n`, {mode: 0o600});
});

afterAll(async () => {
  await world?.close();
});

describe('SSE-C', () => {
  let id: string;

  test('profile add with --encryption SSE-C warns that losing the key loses the backups', async () => {
    const r = await world.b2([...world.profileAddArgs('ssec', {...key, prefix: 'c/', partSize: '5MB'}), '--encryption', 'SSE-C', '--encryption-key', 'file:sse.key']);
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
    expect(r.stderr).toMatch(/Warning: profile "ssec" encrypts backups with SSE-C: B2 keeps no copy of the key\..*cannot be restored/);
  });

  test('profile show gives the key reference, never the key', async () => {
    const r = await world.b2(['profile', 'show', 'ssec']);
    expect(r.stdout).toMatch(/^encryption\s+SSE-C$/m);
    // typed as file:sse.key from world.dir, the command's folder: written down absolute
    expect(r.stdout).toMatch(new RegExp(`^encryptionKey\\s+file:${join(world.dir, 'sse.key').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });

  test('upload stores archive and metadata with SSE-C (a multi-part upload); verify and download round-trip', async () => {
    const up = await world.b2(['upload', archive(), '--name', 'secret', '--profile', 'ssec', '--json']);
    expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
    id = parseJson<{id: string}>(up).id;
    const files = await stored('c/');
    expect(files).toHaveLength(2);
    for (const f of files) expect(f.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});

    const verify = await world.b2(['verify', id, '--profile', 'ssec']);
    expect({code: verify.code, stderr: verify.stderr}).toMatchObject({code: 0});
    const out = join(world.dir, 'restored.tar');
    const down = await world.b2(['download', id, '--profile', 'ssec', '-o', out]);
    expect({code: down.code, stderr: down.stderr}).toMatchObject({code: 0});
    expect(sha1(await readFile(out))).toBe(sha1(data));
  });

  test('a profile switched to SSE-C restores (to a file, to stdout) and verifies the backup it made before, and its own since', async () => {
    // the backups (uploaded as b2 upload stores them) and the switch (the profile edited as a user would) are the setup
    await world.addProfile('switching', {...key, prefix: 'sw/'});
    const before = randomBytes(300_000);
    const plain = await world.storeBackup('switching', before, {name: 'before'});
    const file = parse(await readFile(world.config, 'utf8')) as {profiles: Record<string, Record<string, unknown>>};
    Object.assign(file.profiles.switching, {encryption: 'SSE-C', encryptionKey: `file:${join(world.dir, 'sse.key')}`});
    await writeFile(world.config, stringify(file), {mode: 0o600});
    const after = randomBytes(200_000);
    const own = await world.storeBackup('switching', after, {name: 'after'});
    expect((await stored('sw/')).map((f) => f.serverSideEncryption.mode).sort()).toEqual(['SSE-C', 'SSE-C', null, null]);

    for (const [backup, data] of [[plain.id, before], [own.id, after]] as const) {
      const out = join(world.dir, `restored-${backup}.tar`);
      const toFile = await world.b2(['download', backup, '--profile', 'switching', '-o', out]);
      expect({code: toFile.code, stderr: toFile.stderr}).toMatchObject({code: 0});
      expect(sha1(await readFile(out))).toBe(sha1(data));
      const toStdout = await world.spawn(['download', backup, '--profile', 'switching', '-o', '-']).done;
      expect({code: toStdout.code, stderr: toStdout.stderr}).toMatchObject({code: 0});
      expect(sha1(toStdout.stdout)).toBe(sha1(data));
      const verify = await world.b2(['verify', backup, '--profile', 'switching']);
      expect({code: verify.code, stderr: verify.stderr}).toMatchObject({code: 0});
      // the read without the key that B2 refused for an SSE-C file is nobody's business
      for (const r of [toFile, toStdout, verify]) expect(r.stderr).not.toMatch(/403|refused|retr|SSE-C/i);
    }
  });

  test('without the key, verify and download fail with one line, exit 3, and write nothing', async () => {
    await world.addProfile('nokey', {...key, prefix: 'c/'});
    for (const args of [['verify', id], ['download', id, '-o', join(world.dir, 'never.tar')]]) {
      const r = await world.b2([...args, '--profile', 'nokey']);
      expectFailure(r, 3, /encrypted with SSE-C and the profile has no SSE-C encryptionKey; set the key it was uploaded with: backup-b2 b2 profile update nokey --config \S+ --encryption SSE-C --encryption-key/, world.secrets);
    }
    expect((await readdir(world.dir)).includes('never.tar')).toBe(false);
  });

  test('with another key, verify fails the same way, saying the key is not the one', async () => {
    // a second profile file entry with an inline key, as profile add saves --encryption-key KEY
    await world.addProfile('wrongkey', {...key, prefix: 'c/', encryption: 'SSE-C', encryptionKey: otherKey});
    const show = await world.b2(['profile', 'show', 'wrongkey']);
    // an inline SSE-C key shows as an inline application key does
    expect(show.stdout).toMatch(/^applicationKey\s+\(inline, redacted\)$/m);
    expect(show.stdout).toMatch(/^encryptionKey\s+\(inline, redacted\)$/m);
    const r = await world.b2(['verify', id, '--profile', 'wrongkey']);
    expectFailure(r, 3, /encrypted with SSE-C and the profile's encryptionKey is not the key it was uploaded with/, world.secrets);
  });

  test('b2 copy without the key (or with another) fails like verify: one line, exit 3, nothing copied', async () => {
    await world.addProfile('copydest', {...key, prefix: 'cd/'});
    for (const [profile, why] of [['nokey', /the profile has no SSE-C encryptionKey/], ['wrongkey', /the profile's encryptionKey is not the key it was uploaded with/]] as const) {
      expectFailure(await world.b2(['copy', id, '--to', 'copydest', '--profile', profile]), 3, why, world.secrets);
    }
    expect(await stored('cd/')).toEqual([]);
  });

  test('what the key read is cached for that key alone: without it (or with another) list and prune see what a cold cache gives', async () => {
    // a tar from stdin (its backup.json could still come) is described by its (SSE-C) metadata file alone
    // (stored as `b2 upload -` stores it, and listed as `b2 list` lists it, in this process: the setup)
    await world.storeBackup('ssec', Readable.from([buildTar([{name: 'notes.txt', data: Buffer.from('streamed backup\n')}])]), {name: 'streamed'});
    expect(await world.listedIds('ssec')).toHaveLength(2); // the key's reads are cached now

    const cold = {XDG_CACHE_HOME: join(world.dir, 'cold-cache')};
    for (const profile of ['nokey', 'wrongkey']) {
      const warm = await world.b2(['prune', '--profile', profile, '--keep-last', '1', '--dry-run']);
      const fresh = await world.b2(['prune', '--profile', profile, '--keep-last', '1', '--dry-run'], {env: cold});
      expect({code: warm.code, stdout: warm.stdout, stderr: warm.stderr}).toEqual({code: fresh.code, stdout: fresh.stdout, stderr: fresh.stderr});
      expect(warm.stderr).toMatch(/Not touched: streamed_\S+\.metadata\.json: B2 refused to read/);
      expect(warm.stdout).toMatch(/^keep\s+\S+\s+.*secret/m);
      expect(warm.stdout).not.toMatch(/^delete/m);
    }
    const pruned = await world.b2(['prune', '--profile', 'nokey', '--keep-last', '1', '--yes']);
    expect(pruned.code).toBe(0);
    expect(await world.listedIds('ssec')).toHaveLength(2);
  });

  test('changing the SSE-C key of a profile whose location holds backups warns that they still need the old key; the same key again does not', async () => {
    await world.addProfile('rotate', {...key, prefix: 'rot/', partSize: '5MB', encryption: 'SSE-C', encryptionKey: 'file:sse.key'});
    await world.storeBackup('rotate', randomBytes(1000), {name: 'rotating'});
    const same = await world.b2(['profile', 'update', 'rotate', '--encryption-key', sseKey]);
    expect(same.code).toBe(0);
    expect(same.stderr).not.toContain('B2 keeps no copy of the old one');
    // "same" wrote the key inline: that is the file's only copy now, so replacing it takes --yes off a terminal
    const rotateKey = randomBytes(32).toString('base64'); // held by no other profile of the file
    const rotated = await world.b2(['profile', 'update', 'rotate', '--encryption-key', rotateKey, '--yes']);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toMatch(/^Warning: profile "rotate" now has another encryptionKey, and B2 keeps no copy of the old one: of the 1 backup under "rot\/" in bucket \S+, those uploaded with the old key can be downloaded, verified, copied or moved only with it; keep it/m);
    // the key given inline above is now the profile's only copy: dropping it is refused off a terminal (nothing changed) unless --yes
    const refused = await world.b2(['profile', 'update', 'rotate', '--encryption', 'SSE-B2', '--encryption-key', '']);
    expect(refused).toMatchObject({code: 2, stdout: ''});
    expect(refused.stderr).toBe(`Error: refusing to change its SSE-C key without confirmation: profile "rotate" holds its SSE-C key (encryptionKey) inline, the only copy: B2 keeps none, so backups uploaded with it could never be downloaded again; keep a copy of the key first (it is in ${world.config}), then run the same command with --yes\n`);
    expect(await readFile(world.config, 'utf8')).toContain(rotateKey);
    const dropped = await world.b2(['profile', 'update', 'rotate', '--encryption', 'SSE-B2', '--encryption-key', '', '--yes']);
    expect(dropped.code).toBe(0);
    expect(dropped.stderr).toMatch(/^Warning: profile "rotate" now has no SSE-C key, and B2 keeps no copy of the old one/m);
    for (const r of [same, rotated, refused, dropped]) for (const secret of [sseKey, otherKey, rotateKey]) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  test('an interrupted upload run again after the SSE-C key changed: exit 0, the backup stored, and one line says the old key\'s parts were cancelled', async () => {
    await writeFile(join(world.dir, 'resume.key'), `${sseKey}\n`, {mode: 0o600});
    await world.addProfile('rekeyed', {...key, prefix: 'rekey/', partSize: '5MB', concurrency: 1, encryption: 'SSE-C', encryptionKey: 'file:resume.key'});
    // interrupted once its first part is stored, by the commands' own code (the record a CLI run finds)
    const controller = new AbortController();
    const stopped = await world.withLocation('rekeyed', ({catalog}) => catalog.upload({path: archive()}, {name: 'rekeyed', signal: controller.signal, onProgress: (p) => p.phase === 'transfer' && p.loaded - (p.inFlight ?? 0) >= 5_000_000 && controller.abort()})).catch((e: unknown) => e);
    expect(stopped).toMatchObject({kind: 'aborted'});
    await writeFile(join(world.dir, 'resume.key'), `${otherKey}\n`, {mode: 0o600});
    const r = await world.b2(['upload', archive(), '--name', 'rekeyed', '--profile', 'rekeyed']);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.stringMatching(/^Warning: cancelled the interrupted upload's 1 stored part \(4\.8 MiB\) of rekeyed_\S+\.tar: they were uploaded with another SSE-C key, so this upload cannot use them\n/m)});
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('Warning:'))).toHaveLength(1);
    const auth = await authorizeRaw(world.emu);
    expect((await api(world.emu, auth.authorizationToken, 'b2_list_unfinished_large_files', {bucketId: world.emu.bucketId, namePrefix: 'rekey/'})).json.files).toEqual([]);
    expect((await world.b2(['verify', r.stdout.trim().split('\n').at(-1) as string, '--profile', 'rekeyed'])).code).toBe(0);
  });

  test('a key that is not 256 bits of base64 is refused with the place and the fix, never quoted', async () => {
    await writeFile(join(world.dir, 'short.key'), randomBytes(16).toString('base64'));
    const r = await world.b2([...world.profileAddArgs('shortkey', {...key, prefix: 's/'}), '--encryption', 'SSE-C', '--encryption-key', 'file:short.key']);
    expectFailure(r, 2, /--encryption-key: not an SSE-C key: expected 256 bits in base64.*openssl rand -base64 32/, world.secrets);
    const missing = await world.b2([...world.profileAddArgs('nokeygiven', {...key, prefix: 's/'}), '--encryption', 'SSE-C']);
    expectFailure(missing, 2, /--encryption-key: missing, expected the SSE-C key \(256 bits, base64\)/, world.secrets);
  });

  test('profile check and diagnostics report the bucket default and the profile\'s encryption, not the key', async () => {
    const check = await world.b2(['profile', 'check', 'ssec']);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^ok\s+Encryption\s+bucket default encryption: none; uploads use SSE-C with the profile's encryptionKey/m);
    const diag = parseJson<{profile: {encryption: unknown}; bucket: unknown}>(await world.b2(['diagnostics', '--profile', 'ssec']));
    expect(diag.profile.encryption).toEqual({mode: 'SSE-C', encryptionKey: '**REDACTED**'});
    expect(diag.bucket).toEqual({type: 'allPrivate', defaultEncryption: 'none', objectLock: 'unknown (the key lacks readBucketRetentions)'});
  });
});

describe('SSE-B2', () => {
  test('uploads ask for SSE-B2 and verify; check reports a bucket default of SSE-B2', async () => {
    const auth = await authorizeRaw(world.emu);
    const set = await api(world.emu, auth.authorizationToken, 'b2_update_bucket', {accountId: auth.accountId, bucketId: world.emu.bucketId, defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    expect(set.status).toBe(200);
    const r = await world.b2([...world.profileAddArgs('sseb2', {...key, prefix: 'b/'}), '--encryption', 'SSE-B2']);
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
    expect(r.stderr).not.toMatch(/SSE-C/);
    const up = await world.b2(['upload', archive(), '--name', 'b2', '--profile', 'sseb2', '--json']);
    expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
    for (const f of await stored('b/')) expect(f.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-B2'});
    expect((await world.b2(['verify', parseJson<{id: string}>(up).id, '--profile', 'sseb2'])).code).toBe(0);
    const check = await world.b2(['profile', 'check', 'sseb2']);
    expect(check.stdout).toMatch(/^ok\s+Encryption\s+bucket default encryption: SSE-B2 \(AES256\); uploads ask for SSE-B2/m);
  });
});

test('the SSE-C keys appear in no output, error log, cache or data file', async () => {
  world.expectNoSecretInAnyRun();
  for (const dir of ['cache', 'data', 'config']) {
    for (const file of await filesUnder(join(world.dir, dir))) {
      const text = await readFile(file, 'latin1');
      for (const secret of [sseKey, otherKey]) expect(text.includes(secret) ? `${file} contains an SSE-C key` : 'clean').toBe('clean');
    }
  }
});
