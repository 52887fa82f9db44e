import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {chmod, readFile, symlink, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {toBackupError} from '../../src/b2/errors.js';
import {toFailure} from '../../src/b2/failure.js';
import {describeFailure} from '../../src/cli/base-command.js';
import {errorLogPath} from '../../src/cli/error-log.js';
import {fastRetry} from '../b2/helpers.js';
import {E2EWorld, expectFailure, expectNoSecrets, parseJson} from '../e2e/helpers.js';
import {refusedPort} from '../helpers/refused-port.js';
import {cliRoot, runCli} from '../helpers/run-cli.js';
import {SECRET_FIELDS} from '../../src/profiles/schema.js';

// Secrets and values people typed never come back in messages, the error log that
// `b2 diagnostics` prints, or DEBUG output; and failures get the exit code the README
// documents. Real CLI child processes against the emulator over HTTP.

let world: E2EWorld;
/** Shaped like a B2 application key (K005 + 27 characters). */
const KEY = 'K005SecretSecretSecretSecret123';
const cacheDir = () => world.cliCacheDir;
/** `b2 ARGS` with a --config of the test's choosing, in the world's XDG dirs. */
const cli = (args: string[], env: Record<string, string> = {}) => runCli(['b2', ...args], {env: {...world.env, ...env}, cwd: world.dir});

beforeAll(async () => {
  world = await E2EWorld.start();
  world.secrets.push(KEY);
  await writeFile(world.config, 'profiles: {}\n', {mode: 0o600}); // --config must name a file that exists
});
afterAll(async () => {
  await world?.close();
});

/** Everything a user could share: the error log and what diagnostics prints (with the built-in local profile). */
async function sharedReports(): Promise<string> {
  const log = await readFile(errorLogPath(cacheDir()), 'utf8').catch(() => '');
  const diagnostics = await world.b2(['diagnostics', '--profile', 'local']);
  expect(diagnostics.code).toBe(0);
  return `${log}\n${diagnostics.stdout}\n${diagnostics.stderr}`;
}

/** `diagnostics` with a profiles file that cannot be used: the report all the same (exit 0), the file's problem one of its findings, no secret. */
async function expectDiagnosticsOfBrokenFile(path: string, problem: RegExp, secrets: string[]): Promise<void> {
  const r = await cli(['diagnostics', '--config', path]);
  expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
  const report = parseJson<{node: string; profile: unknown; profilesFile: {ok: boolean; kind: string; error: string}; recentErrors: unknown[]}>(r);
  expect(report).toMatchObject({node: process.version, profile: null, profilesFile: {ok: false, kind: 'config', error: expect.stringMatching(problem)}, recentErrors: expect.any(Array)});
  expectNoSecrets(r, secrets);
}

describe('secrets and typed values stay out of messages, the error log and diagnostics', () => {
  test('a key given without its flag name is not repeated, logged, or shown by diagnostics', async () => {
    const r = await world.b2(['profile', 'add', 'home', KEY, '--key-id', world.emu.keyId, '--bucket', world.emu.bucket, '--no-check']);
    expectFailure(r, 2, /^Error: unexpected argument \(a value given without its flag name\?\)/, [KEY]);
    const recent = JSON.parse(await readFile(errorLogPath(cacheDir()), 'utf8')) as Array<{message: string}>;
    expect(recent.at(-1)!.message).toMatch(/^unexpected argument/);
    expect(await sharedReports()).not.toContain(KEY.slice(0, 12));
  });

  test('a mistyped flag with its value attached: the flag is named, the value is not', async () => {
    const r = await world.b2(['profile', 'add', 'home', `--aplication-key=${KEY}`, '--key-id', 'k', '--bucket', world.emu.bucket]);
    expectFailure(r, 2, /^Error: Nonexistent flag: --aplication-key; did you mean --application-key\? "backup-b2 b2 profile add --help" lists the flags$/, [KEY]);
  });

  test('an application key of the wrong type in the file: the error says what kind of value, never the value', async () => {
    for (const value of ['123456789012345678901234567890', `[${KEY}]`, `{k: ${KEY}}`]) {
      const path = join(world.dir, 'wrong-type.yaml');
      await writeFile(path, `profiles:\n  home:\n    keyId: abc\n    applicationKey: ${value}\n    bucket: home-backups\n`, {mode: 0o600});
      const r = await cli(['profile', 'list', '--config', path]);
      expectFailure(r, 2, /wrong-type\.yaml:4: profiles\.home\.applicationKey: expected an application key, env:NAME or file:PATH, got (a number \(not shown\)|a list|a mapping)/, [KEY, '12345678901234']);
    }
    await expectDiagnosticsOfBrokenFile(join(world.dir, 'wrong-type.yaml'), /wrong-type\.yaml:4: profiles\.home\.applicationKey: expected .*, got a mapping$/, [KEY, KEY.slice(0, 12)]);
    expect(await sharedReports()).not.toMatch(/K005Secret|1234567890123/);
  });

  test('--config pointing at a key file, or a symlink to another text file: never echoed', async () => {
    const keyFile = join(world.dir, 'b2-key');
    await writeFile(keyFile, `${KEY}\n`, {mode: 0o600});
    const passwd = join(world.dir, 'passwd');
    await writeFile(passwd, 'root:x:0:0:root:/root:/bin/bash\nmarker-of-another-file:x:1:1::/:/bin/sh\n');
    await symlink(passwd, join(world.dir, 'passwd-link'));
    for (const config of [keyFile, join(world.dir, 'passwd-link')]) {
      const r = await cli(['list', '--config', config]);
      expectFailure(r, 2, /: expected a mapping with a "profiles:" section, got text \(not shown\)$/, [KEY, 'root:x:0:0', 'marker-of-another-file']);
    }
    const shared = await sharedReports();
    expect(shared).not.toContain(KEY.slice(0, 12));
    expect(shared).not.toContain('marker-of-another-file');
  });

  test('YAML errors do not quote the file either', async () => {
    const path = join(world.dir, 'odd.yaml');
    for (const text of [`%YAML ${KEY}\n---\nprofiles: {}\n`, `profiles: *${KEY}\n`]) {
      await writeFile(path, text);
      const r = await cli(['list', '--config', path]);
      expectFailure(r, 2, /odd\.yaml(:\d+)?: invalid YAML: /, [KEY]);
    }
    await expectDiagnosticsOfBrokenFile(path, /odd\.yaml(:\d+)?: invalid YAML: /, [KEY, KEY.slice(0, 12)]);
  });

  test('an endpoint holding a key (user:password@, a token in its query): refused without showing it, by flag and in the file', async () => {
    // more shapes in test/profiles/schema.test.ts (shownEndpoint)
    const endpoints = [
      `https://${world.emu.keyId}:${KEY}@api.example.com`,
      `https://api.example.com/?authorization=${KEY}`,
      `${world.emu.keyId}:${KEY}@api.example.com`, // no "//": read as a URL whose scheme is the key ID
    ];
    await Promise.all(endpoints.map(async (endpoint, i) => {
      const byFlag = await world.b2(['profile', 'add', 'home', '--key-id', 'k', '--application-key', 'env:K', '--bucket', world.emu.bucket, '--endpoint', endpoint, '--no-check']);
      expectFailure(byFlag, 2, /^Error: --endpoint: expected an https:\/\/ or http:\/\/ URL, or "embedded", got "[^"]*…/, [KEY, KEY.slice(0, 12)]);
      const path = join(world.dir, `endpoint-${i}.yaml`);
      await writeFile(path, `profiles:\n  home:\n    keyId: abc\n    applicationKey: env:K\n    bucket: home-backups\n    endpoint: "${endpoint}"\n`, {mode: 0o600});
      const inFile = await cli(['list', '--config', path]);
      expectFailure(inFile, 2, /endpoint-\d\.yaml:6: profiles\.home\.endpoint: expected /, [KEY, KEY.slice(0, 12)]);
    }));
    expect(await sharedReports()).not.toContain(KEY.slice(0, 12));
  });

  test('an SSE-C key given as the encryption mode (--encryption KEY, "encryption: KEY"): refused without showing it', async () => {
    const sseKey = randomBytes(32).toString('base64');
    world.secrets.push(sseKey);
    const byFlag = await world.b2(['profile', 'add', 'home', '--key-id', 'k', '--application-key', 'env:K', '--bucket', world.emu.bucket, '--encryption', sseKey, '--no-check']);
    expectFailure(byFlag, 2, /^Error: --encryption: expected SSE-B2 or SSE-C, got text that looks like a key \(not shown\)$/, [sseKey, sseKey.slice(0, 12)]);
    const path = join(world.dir, 'encryption.yaml');
    await writeFile(path, `profiles:\n  home:\n    keyId: abc\n    applicationKey: env:K\n    bucket: home-backups\n    encryption: ${sseKey}\n`, {mode: 0o600});
    const inFile = await cli(['list', '--config', path]);
    expectFailure(inFile, 2, /encryption\.yaml:6: profiles\.home\.encryption: expected SSE-B2 or SSE-C, got text that looks like a key \(not shown\)$/, [sseKey, sseKey.slice(0, 12)]);
    // a plain mistake is still quoted: that is what helps
    const typo = await world.b2(['profile', 'add', 'home', '--key-id', 'k', '--application-key', 'env:K', '--bucket', world.emu.bucket, '--encryption', 'SSE-KMS', '--no-check']);
    expectFailure(typo, 2, /^Error: --encryption: expected SSE-B2 or SSE-C, got "SSE-KMS"$/, []);
    expect(await sharedReports()).not.toContain(sseKey.slice(0, 12));
  });

  test('a key pasted together with its key ID ("KEYID KEY"): refused for the space without showing it, by flag, in the file and by oclif', async () => {
    const pasted = `${world.emu.keyId} ${KEY}`;
    const path = join(world.dir, 'pasted-key-id.yaml');
    await writeFile(path, `profiles:\n  home:\n    keyId: "${world.emu.keyId}  ${KEY}"\n    applicationKey: env:K\n    bucket: home-backups\n`, {mode: 0o600});
    const [byFlag, inFile, count] = await Promise.all([
      world.b2(['profile', 'add', 'home', '--key-id', pasted, '--application-key', 'env:K', '--bucket', world.emu.bucket, '--no-check']),
      cli(['list', '--config', path]),
      world.b2(['prune', '--keep-last', pasted]),
    ]);
    expectFailure(byFlag, 2, /^Error: --key-id: expected a key ID \(text without spaces\), got text that looks like a key \(not shown\) \(it contains a space\)$/, [KEY, KEY.slice(0, 12)]);
    expectFailure(inFile, 2, /pasted-key-id\.yaml:3: profiles\.home\.keyId: expected .*, got text that looks like a key \(not shown\)/, [KEY, KEY.slice(0, 12)]);
    expectFailure(count, 2, /^Error: Parsing --keep-last: Expected an integer but received: text that looks like a key \(not shown\)$/, [KEY, KEY.slice(0, 12)]);
  });

  test("oclif's own flag errors (a choice, a whole number): a key-shaped value is not quoted, a long one is shortened", async () => {
    const [choice, count, long] = await Promise.all([
      world.b2(['upload', 'x.tar', '--lock-mode', KEY]),
      world.b2(['prune', '--keep-last', KEY]),
      world.b2(['upload', 'x.tar', '--progress', 'y'.repeat(300)]),
    ]);
    expectFailure(choice, 2, /^Error: Expected --lock-mode to be one of: governance, compliance, got text that looks like a key \(not shown\)$/, [KEY, KEY.slice(0, 12)]);
    expectFailure(count, 2, /^Error: Parsing --keep-last: Expected an integer but received: text that looks like a key \(not shown\)$/, [KEY, KEY.slice(0, 12)]);
    expectFailure(long, 2, /^Error: Expected --progress to be one of: auto, bar, log, none, got "y+…" \(300 characters\)$/, []);
    expect(await sharedReports()).not.toContain(KEY.slice(0, 12));
  });

  test('values of 2,000 characters are shortened in messages', async () => {
    const long = 'x'.repeat(2000);
    const cases = [
      world.b2(['profile', 'add', long, '--key-id', 'k', '--application-key', 'env:K', '--bucket', world.emu.bucket, '--no-check']),
      world.b2(['profile', 'show', long]),
      world.b2(['show', 'a'.repeat(2000), '--profile', 'local']),
      world.b2(['profile', 'add', 'home', '--key-id', 'k', '--application-key', 'env:K', '--bucket', 'b'.repeat(2000), '--no-check']),
    ];
    for (const r of await Promise.all(cases)) {
      expectFailure(r, 2, /\(2000 characters\)/, []);
      expect(r.stderr.length).toBeLessThan(400);
    }
  });

  test('a short wrong key in B2_APPLICATION_KEY: the message is not altered around it (no oracle)', async () => {
    await world.addProfile('home', {keyId: world.emu.keyId, applicationKey: world.emu.applicationKey}); // checked: its own key works
    const envKey = await cli(['list', '--profile', 'home', '--config', world.config], {B2_APPLICATION_KEY_ID: world.emu.keyId, B2_APPLICATION_KEY: 'wrong'});
    expectFailure(envKey, 3, /application key is wrong/, []);
    expect(envKey.stderr).not.toContain('[redacted]');
  });

  test("DEBUG='*': neither an inline nor a separate --application-key value, nor a key without its flag, nor an endpoint's credentials or query, is logged", async () => {
    const endpointKey = 'K005EndpointEndpointSecret4567';
    world.secrets.push(endpointKey);
    const env = {...world.env, DEBUG: '*'};
    const runs = await Promise.all([
      runCli(['b2', 'profile', 'add', 'dbg1', '--key-id', 'k', `--application-key=${KEY}`, '--bucket', world.emu.bucket, '--no-check', '--config', join(world.dir, 'dbg.yaml')], {env}),
      runCli(['b2', 'profile', 'add', 'dbg2', '--key-id', 'k', '--application-key', KEY, '--bucket', world.emu.bucket, '--endpoint', `https://${world.emu.keyId}:${endpointKey}@api.example.com`, '--no-check', '--config', join(world.dir, 'dbg2.yaml')], {env}),
      runCli(['b2', 'profile', 'add', 'dbg3', KEY, '--key-id', 'k', '--bucket', world.emu.bucket, `--endpoint=https://api.example.com/?token=${endpointKey}`, '--no-check', '--config', join(world.dir, 'dbg3.yaml')], {env}),
    ]);
    for (const r of runs) {
      expect(r.stderr).toMatch(/oclif/); // the debug output is really there
      expect(r.stderr).toContain('[redacted]');
      for (const secret of [KEY, endpointKey]) expect(`${r.stdout}${r.stderr}`).not.toContain(secret.slice(0, 12));
    }
    expect(runs[1].stderr).toContain("'https://…@api.example.com'"); // the host is still shown
    expect(runs[2].stderr).toContain("'--endpoint=https://api.example.com/?…'");
  });
});

describe('every secret flag, every secret field, every command without arguments', () => {
  /** A 256-bit SSE-C key as `openssl rand -base64 32` prints it, with '/', '+' and '=' in it. */
  const sseKey = (): string => {
    for (;;) {
      const key = randomBytes(32).toString('base64');
      if (key.includes('/') && key.includes('+')) return key;
    }
  };

  test("DEBUG='*': an --encryption-key value (either form) and a base64 key without its flag are not logged; a plain path is", async () => {
    const keys = [sseKey(), sseKey(), sseKey()];
    world.addSecrets(...keys);
    const env = {...world.env, DEBUG: '*'};
    const add = (name: string, ...rest: string[]) =>
      runCli(['b2', 'profile', 'add', name, '--key-id', 'k', '--application-key', 'env:K', '--bucket', world.emu.bucket, '--prefix', 'backups/HomeAssistant/daily', '--encryption', 'SSE-C', '--no-check', '--config', join(world.dir, `${name}.yaml`), ...rest], {env});
    const runs = await Promise.all([add('sse1', '--encryption-key', keys[0]), add('sse2', `--encryption-key=${keys[1]}`), add('sse3', keys[2])]);
    for (const r of runs) {
      expect(r.stderr).toMatch(/oclif/); // the debug output is really there
      expect(r.stderr).toContain('[redacted]');
      expect(r.stderr).toContain('backups/HomeAssistant/daily'); // an ordinary argument is still shown
      for (const key of keys) expect(`${r.stdout}${r.stderr}`).not.toContain(key.slice(0, 12));
    }
    expect(runs[1].stderr).toContain('--encryption-key=[redacted]');
  });

  test('a stray argument to any command without arguments: "unexpected argument", the value never repeated, logged as such', async () => {
    const manifest = JSON.parse(await readFile(join(cliRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {args?: Record<string, unknown>; strict?: boolean}>};
    const noArgs = Object.entries(manifest.commands).filter(([, c]) => Object.keys(c.args ?? {}).length === 0 && c.strict !== false).map(([id]) => id.split(':'));
    expect(noArgs.map((w) => w.join(' '))).toEqual(expect.arrayContaining(['b2 list', 'b2 cleanup', 'b2 diagnostics', 'b2 profile list', 'b2 emulator']));
    const runs = await Promise.all(noArgs.map((words) => runCli([...words, KEY], {env: world.env, cwd: world.dir})));
    runs.forEach((r, i) => {
      expect({command: noArgs[i].join(' '), code: r.code, stderr: r.stderr}).toEqual({command: noArgs[i].join(' '), code: 2, stderr: 'Error: unexpected argument (a value given without its flag name?); the values are not repeated here, see --help for the flags\n'});
      expect(r.stdout).toBe('');
    });
    const two = await world.b2(['list', KEY, 'another']);
    expectFailure(two, 2, /^Error: unexpected arguments \(a value given without its flag name\?\)/, [KEY, 'another']);
    const recent = JSON.parse(await readFile(errorLogPath(cacheDir()), 'utf8')) as Array<{command: string; message: string}>;
    expect(recent.at(-1)).toMatchObject({command: 'b2:list', message: expect.stringMatching(/^unexpected arguments /)});
    expect(await sharedReports()).not.toContain(KEY.slice(0, 12));
  });

  test('a mistyped command followed by a value: the nearest command is suggested, the value is not repeated', async () => {
    const runs = [];
    for (const args of [['lsit', KEY], ['profile', KEY], ['profile', 'lst', KEY]]) {
      const r = await world.b2(args);
      expectFailure(r, 2, /is not a command/, [KEY, KEY.slice(0, 12)]);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      runs.push(r);
    }
    expect(runs[0].stderr).toMatch(/did you mean "\S+ b2 list"\?/);
  });

  test('every secret field of a profile with a value that is not text: its type, never the value', async () => {
    const path = join(world.dir, 'wrong-secret.yaml');
    for (const field of SECRET_FIELDS) {
      for (const [value, says] of [['123456789012345', 'a number \\(not shown\\)'], ['true', 'a boolean \\(not shown\\)'], ["'   '", 'text \\(not shown\\)']]) {
        const entry: Record<string, string> = {keyId: 'abc', applicationKey: 'env:K', bucket: 'home-backups', encryption: 'SSE-C', encryptionKey: 'env:S', [field]: value};
        await writeFile(path, `profiles:\n  home:\n${Object.entries(entry).map(([k, v]) => `    ${k}: ${v}\n`).join('')}`, {mode: 0o600});
        const r = await cli(['list', '--config', path]);
        expectFailure(r, 2, new RegExp(`wrong-secret\\.yaml:\\d+: profiles\\.home\\.${field}: expected .*, got ${says}`), ['123456789012345']);
      }
    }
    expect(await sharedReports()).not.toMatch(/123456789012345/);
  });
});

describe('exit codes', () => {
  test('an unclassified error is exit 1 "unexpected error", never 2 ("nothing was changed")', async () => {
    expect(describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')"))).toEqual({exitCode: 1, kind: 'unexpected', message: 'unexpected error (run with DEBUG=1 for details)'});
    const err = toBackupError(await toFailure(new TypeError('x is not a function')), {call: 'b2_upload_file', attempts: 1}, {bucket: 'b', prefix: '', endpoint: 'http://x', secrets: []});
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe('unexpected error in b2_upload_file (run with DEBUG=1 for details)');
  });

  test("an expired key: profile check says to put in a new key, not to check the network", async () => {
    const key = await world.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], validDurationSeconds: 1});
    const path = join(world.dir, 'expired.yaml');
    await writeFile(path, `profiles:\n  old:\n    keyId: ${key.keyId}\n    applicationKey: ${key.applicationKey}\n    bucket: ${world.emu.bucket}\n    endpoint: ${world.emu.url}\n`);
    await chmod(path, 0o600);
    world.emu.clock.advance(1000); // the key's one second of life passes, by B2's clock (no sleeping)
    const r = await cli(['profile', 'check', 'old', '--config', path]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^fail\s+Key ID and application key\s+the key of profile old has expired or was revoked; fix: create a new key and put it in with: backup-b2 b2 profile update old --config \S+ --key-id … --application-key …$/m);
    expect(r.stdout + r.stderr).not.toMatch(/network/);
  });
});

describe('the check of a profile that cannot connect', () => {
  test('an endpoint that refuses connections is a network failure (exit 1), not a key problem (exit 3)', async () => {
    const {B2Backend} = await import('../../src/b2/index.js');
    const {checkFailed} = await import('../../src/profiles/save-checked.js');
    const port = await refusedPort();
    const report = await B2Backend.checkProfile({keyId: 'k', applicationKey: KEY, bucket: world.emu.bucket, prefix: '', endpoint: `http://127.0.0.1:${port}`, retry: fastRetry().retry});
    expect(report.items).toEqual([expect.objectContaining({id: 'connection', status: 'fail', message: expect.stringMatching(/ECONNREFUSED/)})]);
    const err = checkFailed('home', report);
    expect(err.exitCode).toBe(1);
    expect(err.kind).toBe('network');
  });
});

