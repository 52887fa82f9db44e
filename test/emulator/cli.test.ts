/**
 * `b2 emulator` as a user runs it: a real child process (needs `npm run build`), read
 * its JSON line, make calls, SIGTERM, exit 0.
 */
import {describe, expect, test} from '@jest/globals';
import {ChildProcess, spawn} from 'node:child_process';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {RunningEmulator} from '../../src/emulator/index.js';
import {authorizeRaw, libraryClient} from './helpers.js';
import {runCli} from '../helpers/run-cli.js';
import {cleanEnv} from '../helpers/host-cli.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

function run(args: string[]): {child: ChildProcess; firstLine: Promise<string>; exit: Promise<{code: number | null; stdout: string; stderr: string}>} {
  const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'b2', 'emulator', ...args], {cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  let resolveLine: (l: string) => void;
  const firstLine = new Promise<string>((r) => (resolveLine = r));
  child.stdout!.on('data', (d) => {
    stdout += d.toString();
    if (stdout.includes('\n')) resolveLine(stdout.split('\n')[0]);
  });
  child.stderr!.on('data', (d) => (stderr += d.toString()));
  const exit = new Promise<{code: number | null; stdout: string; stderr: string}>((resolve) => child.on('exit', (code) => resolve({code, stdout, stderr})));
  return {child, firstLine, exit};
}

describe('b2 emulator command', () => {
  test('--port 0 --json prints one JSON line; the server works; SIGTERM stops it with exit 0', async () => {
    const {child, firstLine, exit} = run(['--port', '0', '--json', '--min-part-size', '1000']);
    const info = JSON.parse(await firstLine);
    expect(Object.keys(info).sort()).toEqual(['applicationKey', 'bucket', 'keyId', 'url']);
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const emu = info as RunningEmulator;
    const auth = await authorizeRaw(emu);
    expect(auth.absoluteMinimumPartSize).toBe(1000);
    const b2 = await libraryClient(emu);
    const bucket = await b2.getBucket({bucketName: info.bucket});
    expect(bucket.data.buckets).toHaveLength(1);
    child.kill('SIGTERM');
    const done = await exit;
    expect(done.code).toBe(0);
    expect(done.stdout.trim().split('\n')).toHaveLength(1);
    // Nothing but the bootstrap key is ever printed: no auth token.
    expect(done.stdout + done.stderr).not.toContain(auth.authorizationToken);
  });

  test('with --data-dir and given credentials, a restart keeps the files; SIGINT also exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-cli-'));
    try {
      const args = ['--port', '0', '--data-dir', dir, '--key-id', 'cliKeyId', '--application-key', 'cli-secret', '--bucket', 'cli-bucket-1'];
      const first = run(args);
      const text = await first.firstLine;
      expect(text).toContain('B2 emulator listening on http://127.0.0.1:');
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1];
      const emu = {url, keyId: 'cliKeyId', applicationKey: 'cli-secret'} as RunningEmulator;
      const b2 = await libraryClient(emu);
      const bucketId = (await b2.getBucket({bucketName: 'cli-bucket-1'})).data.buckets[0].bucketId;
      const up = (await b2.getUploadUrl({bucketId})).data;
      await b2.uploadFile({uploadUrl: up.uploadUrl, uploadAuthToken: up.authorizationToken, fileName: 'kept.txt', data: Buffer.from('kept')});
      first.child.kill('SIGINT');
      expect((await first.exit).code).toBe(0);

      const second = run([...args, '--json']);
      const info = JSON.parse(await second.firstLine);
      const b2again = await libraryClient(info);
      const names = await b2again.listFileNames({bucketId});
      expect(names.data.files.map((f: any) => f.fileName)).toEqual(['kept.txt']);
      second.child.kill('SIGTERM');
      expect((await second.exit).code).toBe(0);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('--fault rules apply from the first call: a 429 with Retry-After, then normal answers', async () => {
    const {child, firstLine, exit} = run(['--port', '0', '--json', '--fault', '{"call":"b2_list_buckets","count":1,"status":429,"retryAfter":3}']);
    const info = JSON.parse(await firstLine);
    const auth = await authorizeRaw(info);
    const list = () => fetch(`${info.url}/b2api/v2/b2_list_buckets`, {method: 'POST', headers: {Authorization: auth.authorizationToken}, body: JSON.stringify({accountId: auth.accountId})});
    const first = await list();
    expect([first.status, first.headers.get('retry-after'), ((await first.json()) as {code: string}).code]).toEqual([429, '3', 'too_many_requests']);
    expect((await list()).status).toBe(200);
    child.kill('SIGTERM');
    expect((await exit).code).toBe(0);
  });

  test('bad flags: one clear line, non-zero exit', async () => {
    const notJson = await run(['--fault', '{call:uploads}']).exit;
    expect(notJson.code).toBe(2);
    expect(notJson.stderr.trim().split('\n')).toHaveLength(1);
    expect(notJson.stderr).toContain('--fault must be a JSON object');
    const badField = await run(['--fault', '{"call":"uploads","rate":7}']).exit;
    expect(badField.code).toBe(2);
    expect(badField.stderr.trim()).toBe('Error: --fault: fault rule field "rate" must be a fraction 0..1');
    const bad = await run(['--fail-uploads', '1.5']).exit;
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('Error: --fail-uploads must be a fraction from 0 to 1 (e.g. 0.1), got "1.5"');
    const half = await run(['--key-id', 'only']).exit;
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--key-id and --application-key together');
  });

  test('--encrypted-by-default: the bucket is one B2 has enabled for default encryption, so a plain upload is stored with SSE-B2', async () => {
    const {child, firstLine, exit} = run(['--port', '0', '--json', '--encrypted-by-default']);
    const info = JSON.parse(await firstLine) as RunningEmulator;
    const b2 = await libraryClient(info);
    const bucket = (await b2.getBucket({bucketName: info.bucket})).data.buckets[0];
    expect(bucket.defaultServerSideEncryption).toEqual({isClientAuthorizedToRead: true, value: {algorithm: 'AES256', mode: 'SSE-B2'}});
    const up = (await b2.getUploadUrl({bucketId: bucket.bucketId})).data;
    const stored = await b2.uploadFile({uploadUrl: up.uploadUrl, uploadAuthToken: up.authorizationToken, fileName: 'plain.txt', data: Buffer.from('plain')});
    expect(stored.data.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-B2'});
    child.kill('SIGTERM');
    expect((await exit).code).toBe(0);
  });

  test('--file-lock-enabled: the bucket has Object Lock, so the README\'s lock examples work against it; without it they are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-lock-'));
    try {
      const archive = join(dir, 'a.tar');
      await writeFile(archive, Buffer.alloc(2048, 7));
      const uploadLocked = async (lockFlag: string[]) => {
        const {child, firstLine, exit} = run(['--port', '0', '--json', ...lockFlag]);
        const info = JSON.parse(await firstLine) as RunningEmulator;
        const bucket = (await (await libraryClient(info)).getBucket({bucketName: info.bucket})).data.buckets[0];
        const config = join(dir, `profiles${lockFlag.length}.yaml`);
        await writeFile(config, `profiles:\n  emu:\n    keyId: ${info.keyId}\n    applicationKey: ${info.applicationKey}\n    bucket: ${info.bucket}\n    endpoint: ${info.url}\n`, {mode: 0o600});
        const r = await runCli(['b2', 'upload', archive, '--lock-days', '1', '--config', config, '--json']);
        child.kill('SIGTERM');
        await exit;
        return {enabled: bucket.fileLockConfiguration.value.isFileLockEnabled, r};
      };
      const locked = await uploadLocked(['--file-lock-enabled']);
      expect(locked.enabled).toBe(true);
      expect({code: locked.r.code, stderr: locked.r.stderr}).toEqual({code: 0, stderr: ''});
      expect(JSON.parse(locked.r.stdout)).toEqual(expect.objectContaining({lockMode: 'governance', lockedUntil: expect.any(String)}));
      const plain = await uploadLocked([]);
      expect(plain.enabled).toBe(false);
      expect(plain.r.code).toBe(3);
      expect(plain.r.stderr).toMatch(/does not have Object Lock enabled/);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });
});
