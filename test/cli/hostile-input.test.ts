import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {spawnSync} from 'node:child_process';
import {mkdir, readFile, readdir, symlink, truncate, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {E2EWorld} from '../e2e/helpers.js';
import {runCli} from '../helpers/run-cli.js';

// A corpus of hostile command lines and profile files, each run as a real CLI child
// process against the emulator over HTTP. Every one must be answered with ONE line on
// stderr ("Error: …", no stack), the exit code the README documents, nothing on stdout,
// and no change: profiles.yaml byte for byte, no temp or lock file beside it, and the
// same files in the bucket.

let world: E2EWorld;
let backupId: string;
let goodProfiles: Buffer;
const d = (name: string) => join(world.dir, 'hostile', name);
const LONG = 'n'.repeat(2000);
const ALIAS_BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghi'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`), 'profiles: *i', ''].join('\n');
const PROFILE = (fields: string, name = 'home') => `profiles:\n  ${name}:\n    keyId: 0051234abcd0000000000001\n    applicationKey: env:HOSTILE_KEY\n    bucket: home-backups-123456\n${fields}`;

interface Case {
  /** What is hostile about it. */
  title: string;
  /** The arguments after `b2`; $C is the good profiles file, $D the corpus dir, $ID a real backup id. */
  args: string[];
  exit: number;
  /** What the one error line must say. */
  says: RegExp;
}

/** Hostile profile files: `b2 list --config FILE` must refuse each. */
const FILES: Array<{title: string; name: string; make: (path: string) => Promise<void>; says: RegExp}> = [
  {title: 'a YAML alias bomb (a billion laughs)', name: 'bomb.yaml', make: (p) => writeFile(p, ALIAS_BOMB), says: /invalid YAML: Excessive alias count/},
  {title: 'a 50 MB profiles file', name: 'huge.yaml', make: async (p) => {
    await writeFile(p, '');
    await truncate(p, 50_000_000); // no handle left for the GC to close (DEP0137)
  }, says: /it has 50000000 bytes, more than the 1048576 allowed/},
  {title: 'a 1.5 MB file of real profiles', name: 'many.yaml', make: (p) => writeFile(p, 'profiles:\n' + Array.from({length: 16_000}, (_, i) => `  p${i}:\n    keyId: 0051234abcd0000000000001\n    applicationKey: env:X\n    bucket: bucket-${i}xx\n`).join('')), says: /more than the 1048576 allowed/},
  {title: '5,000 profiles and none chosen: the names are not all listed', name: 'five-thousand.yaml', make: (p) => writeFile(p, 'profiles:\n' + Array.from({length: 5000}, (_, i) => `  p${i}:\n    keyId: k\n    applicationKey: env:X\n    bucket: bucket-${i}xx\n`).join('')), says: /has 5000 profiles \(p0, p1, .*p9 and 4990 more\); choose one/},
  {title: 'a directory as the profiles file', name: 'dir.yaml', make: (p) => mkdir(p), says: /it is a directory, not a (regular )?file/},
  {title: 'a FIFO as the profiles file', name: 'fifo.yaml', make: async (p) => void spawnSync('mkfifo', [p]), says: /it is a FIFO \(named pipe\), not a regular file/},
  {title: 'a symlink to a FIFO', name: 'fifo-link.yaml', make: async (p) => symlink(d('fifo.yaml'), p), says: /it is a FIFO/},
  {title: 'a symlink to /dev/zero', name: 'zero-link.yaml', make: (p) => symlink('/dev/zero', p), says: /it is a device, not a regular file/},
  {title: 'a symlink loop', name: 'loop.yaml', make: async (p) => symlink(p, p), says: /cannot open it \(ELOOP\)/},
  {title: 'a key file given as --config', name: 'key.txt', make: (p) => writeFile(p, 'K005SecretSecretSecretSecret123\n'), says: /got text \(not shown\)$/},
  {title: 'binary junk', name: 'junk.bin', make: (p) => writeFile(p, Buffer.from(Array.from({length: 4096}, (_, i) => (i * 7919) % 256))), says: /invalid YAML|expected a mapping|got text/},
  {title: 'a list instead of a mapping', name: 'list.yaml', make: (p) => writeFile(p, '- home\n- office\n'), says: /expected a mapping with a "profiles:" section, got a list/},
  {title: 'a tab as indentation', name: 'tab.yaml', make: (p) => writeFile(p, 'profiles:\n\thome: {}\n'), says: /:2: invalid YAML: Tabs are not allowed/},
  {title: 'duplicate profile names', name: 'dup.yaml', make: (p) => writeFile(p, PROFILE('') + '  home:\n    keyId: x\n'), says: /:6: invalid YAML: Map keys must be unique/},
  {title: 'concurrency is a word', name: 'conc-word.yaml', make: (p) => writeFile(p, PROFILE('    concurrency: four\n')), says: /profiles\.home\.concurrency: expected an integer 1\.\.64, got "four"/},
  {title: 'concurrency 1e99', name: 'conc-huge.yaml', make: (p) => writeFile(p, PROFILE('    concurrency: 1e99\n')), says: /profiles\.home\.concurrency: expected an integer 1\.\.64/},
  {title: 'partSize -1', name: 'ps-neg.yaml', make: (p) => writeFile(p, PROFILE('    partSize: -1\n')), says: /profiles\.home\.partSize: expected a size/},
  {title: 'partSize 1e99', name: 'ps-huge.yaml', make: (p) => writeFile(p, PROFILE('    partSize: 1e99\n')), says: /profiles\.home\.partSize: expected a size/},
  {title: 'partSize abc', name: 'ps-abc.yaml', make: (p) => writeFile(p, PROFILE('    partSize: abc\n')), says: /profiles\.home\.partSize: expected a size.*not a size/},
  {title: 'an application key that is a number', name: 'key-num.yaml', make: (p) => writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', '123456789012345678901234567890')), says: /applicationKey: expected .*, got a number \(not shown\)/},
  {title: 'an unknown field', name: 'unknown.yaml', make: (p) => writeFile(p, PROFILE('    buckett: x\n')), says: /profiles\.home\.buckett: unknown field \(did you mean "bucket"\?\)/},
  {title: 'an unknown top-level section', name: 'top.yaml', make: (p) => writeFile(p, 'version: 2\n' + PROFILE('')), says: /version: unknown field; expected "profiles"/},
  {title: 'a profile named ../x', name: 'name-dots.yaml', make: (p) => writeFile(p, PROFILE('', '"../x"')), says: /expected a profile name of 1\.\.64 letters.*got "\.\.\/x"/},
  // a record built from these would set its prototype instead of holding the entry, which vanished unchecked
  {title: 'a profile named __proto__', name: 'name-proto.yaml', make: (p) => writeFile(p, PROFILE('', '__proto__')), says: /:2: profiles\.__proto__: expected a profile name of 1\.\.64 letters.*got "__proto__"$/},
  {title: '__proto__ in a profile, its retention and at the top', name: 'proto-fields.yaml', make: (p) => writeFile(p, `__proto__: {default: home}\n${PROFILE('    __proto__: {bucket: other-bucket-1}\n    retention:\n      keepLast: 1\n      __proto__: {keepLast: 9}\n')}`), says: /:1: __proto__: unknown field.*\(and 2 more problems\)$/},
  {title: 'a profile name of 2,000 characters', name: 'name-long.yaml', make: (p) => writeFile(p, PROFILE('', LONG)), says: /invalid YAML: The : indicator must be at most 1024 chars after the start of an implicit block mapping key$/},
  {title: 'a prefix over 1024 bytes', name: 'prefix-long.yaml', make: (p) => writeFile(p, PROFILE(`    prefix: ${'é'.repeat(600)}\n`)), says: /profiles\.home\.prefix: expected a name prefix/},
  {title: 'a prefix with a control character', name: 'prefix-ctl.yaml', make: (p) => writeFile(p, PROFILE('    prefix: "ha\\x07/"\n')), says: /profiles\.home\.prefix: expected a name prefix/},
  {title: 'an endpoint that is a file: URL', name: 'endpoint.yaml', make: (p) => writeFile(p, PROFILE('    endpoint: file:///etc/passwd\n')), says: /profiles\.home\.endpoint: expected an https:\/\/ or http:\/\/ URL.*the scheme is file/},
  {title: 'the key file is /dev/zero', name: 'keyfile-zero.yaml', make: (p) => writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', 'file:/dev/zero')), says: /applicationKey: file:\/dev\/zero cannot be used \(it is a device, not a regular file/},
  {title: 'the key file is a FIFO', name: 'keyfile-fifo.yaml', make: (p) => writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', `file:${d('fifo.yaml')}`)), says: /cannot be used \(it is a FIFO/},
  {title: 'the key file is a directory', name: 'keyfile-dir.yaml', make: (p) => writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', `file:${d('dir.yaml')}`)), says: /cannot be used \(it is a directory/},
  {title: 'the key file is 100 KB', name: 'keyfile-big.yaml', make: async (p) => { await writeFile(d('big.key'), 'K'.repeat(100_000)); await writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', `file:${d('big.key')}`)); }, says: /it has 100000 bytes, more than the 65536 allowed/},
  {title: 'the key file is missing', name: 'keyfile-missing.yaml', make: (p) => writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', 'file:missing.key')), says: /file:missing\.key cannot be read \(no such file/},
  {title: 'the key variable is not set', name: 'key-env.yaml', make: (p) => writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', 'env:HOSTILE_UNSET')), says: /env:HOSTILE_UNSET names an environment variable that is not set/},
  {title: 'an inline key in a file others can read', name: 'shared.yaml', make: async (p) => writeFile(p, PROFILE('').replace('env:HOSTILE_KEY', 'K005SecretSecretSecretSecret123'), {mode: 0o644}), says: /an inline application key in a file other users can read \(mode 0644\)/},
];

const ARGS: Case[] = [
  // upload
  {title: 'upload -1', args: ['upload', '-1', '-p', 'home'], exit: 2, says: /^-1: no such file/},
  {title: 'upload a missing file', args: ['upload', '$D/missing.tar', '-p', 'home'], exit: 2, says: /no such file/},
  {title: 'upload a directory', args: ['upload', '$D', '-p', 'home'], exit: 2, says: /is not a regular file/},
  {title: 'upload a FIFO', args: ['upload', '$D/fifo.yaml', '-p', 'home'], exit: 2, says: /is not a regular file/},
  {title: 'upload /dev/zero', args: ['upload', '/dev/zero', '-p', 'home'], exit: 2, says: /is not a regular file/},
  {title: 'upload --name of 2,000 characters', args: ['upload', '$D/small.tar', '--name', LONG, '-p', 'home'], exit: 2, says: /invalid backup name .*\(2000 characters\)/},
  {title: 'upload --part-size -1', args: ['upload', '$D/small.tar', '--part-size', '-1', '-p', 'home'], exit: 2, says: /part-size/},
  {title: 'upload --part-size 1e99', args: ['upload', '$D/small.tar', '--part-size', '1e99', '-p', 'home'], exit: 2, says: /--part-size: expected a size/},
  {title: 'upload --part-size abc', args: ['upload', '$D/small.tar', '--part-size', 'abc', '-p', 'home'], exit: 2, says: /--part-size: expected a size/},
  {title: 'upload --concurrency 0', args: ['upload', '$D/small.tar', '--concurrency', '0', '-p', 'home'], exit: 2, says: /--concurrency: expected an integer 1\.\.64/},
  {title: 'upload --concurrency abc', args: ['upload', '$D/small.tar', '--concurrency', 'abc', '-p', 'home'], exit: 2, says: /--concurrency: expected an integer 1\.\.64/},
  {title: 'upload --meta __proto__=x', args: ['upload', '$D/small.tar', '--meta', '__proto__=x', '--meta', 'host=pi', '-p', 'home'], exit: 2, says: /invalid metadata key "__proto__": use 1-64 letters/},
  // "false" is stored as text, which Python takes for true: HA's retention would count the backup as automatic
  {title: 'upload --meta with_automatic_settings=false', args: ['upload', '$D/small.tar', '--meta', 'host=pi', '--meta', 'with_automatic_settings=false', '-p', 'home'], exit: 2, says: /^metadata key with_automatic_settings is Home Assistant's own: its retention reads it as true or false .*\("false" would read as true\); use a key of your own$/},
  {title: 'upload --meta without "="', args: ['upload', '$D/small.tar', '--meta', 'novalue', '-p', 'home'], exit: 2, says: /meta/},
  {title: 'upload --limit-upload abc', args: ['upload', '$D/small.tar', '--limit-upload', 'abc', '-p', 'home'], exit: 2, says: /limit-upload/},
  // ids
  {title: 'download ../etc/passwd', args: ['download', '../etc/passwd', '-o', '$D/out.tar', '-p', 'home'], exit: 2, says: /invalid backup id/},
  {title: 'show ../../x', args: ['show', '../../x', '-p', 'home'], exit: 2, says: /invalid backup id/},
  {title: 'verify an id of 2,000 characters', args: ['verify', LONG, '-p', 'home'], exit: 2, says: /invalid backup id .*\(2000 characters\)/},
  {title: 'delete ../x --yes', args: ['delete', '../x', '--yes', '-p', 'home'], exit: 2, says: /invalid backup id/},
  {title: 'show an id that does not exist', args: ['show', 'deadbeefdeadbeef', '-p', 'home'], exit: 4, says: /deadbeefdeadbeef/},
  {title: 'download to a directory', args: ['download', '$ID', '-o', '$D', '-p', 'home'], exit: 2, says: /is a directory/},
  {title: 'delete without --yes and no terminal', args: ['delete', '$ID', '-p', 'home'], exit: 2, says: /--yes/},
  // durations
  {title: 'cleanup --older-than abc', args: ['cleanup', '--older-than', 'abc', '-p', 'home'], exit: 2, says: /--older-than: "abc" is not a duration/},
  {title: 'cleanup --older-than -1h', args: ['cleanup', '--older-than=-1h', '-p', 'home'], exit: 2, says: /--older-than: "-1h" is not a duration/},
  {title: 'cleanup --older-than 1e99h', args: ['cleanup', '--older-than', '1e99h', '-p', 'home'], exit: 2, says: /is not a duration/},
  // profiles chosen by name
  {title: 'list --profile ../x', args: ['list', '--profile', '../x'], exit: 2, says: /no profile named "\.\.\/x"/},
  {title: 'list --profile of 2,000 characters', args: ['list', '--profile', LONG], exit: 2, says: /no profile named .*\(2000 characters\)/},
  {title: 'diagnostics --profile nobody', args: ['diagnostics', '--profile', 'nobody'], exit: 2, says: /no profile named "nobody"/},
  // profile commands
  {title: 'profile add ../x', args: ['profile', 'add', '../x', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--no-check'], exit: 2, says: /profile name "\.\.\/x": expected/},
  {title: 'profile add a name of 2,000 characters', args: ['profile', 'add', LONG, '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--no-check'], exit: 2, says: /\(2000 characters\)/},
  {title: 'profile add --bucket ../x', args: ['profile', 'add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', '../x', '--no-check'], exit: 2, says: /--bucket: expected a bucket name/},
  {title: 'profile add --prefix over 1024 bytes', args: ['profile', 'add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--prefix', 'p'.repeat(1100), '--no-check'], exit: 2, says: /--prefix: expected a name prefix/},
  {title: 'profile add --prefix with a text-direction control (U+202E)', args: ['profile', 'add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--prefix', 'ha\u202e/', '--no-check'], exit: 2, says: /^--prefix: expected a name prefix .*, got "ha\\u\{202e\}\/" \(prefix contains U\+202E, an invisible or text-direction control character/},
  {title: 'profile add --endpoint file:///etc/passwd', args: ['profile', 'add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--endpoint', 'file:///etc/passwd', '--no-check'], exit: 2, says: /--endpoint: expected/},
  {title: 'profile add --part-size -1', args: ['profile', 'add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--part-size', '-1', '--no-check'], exit: 2, says: /--part-size: expected a size/},
  {title: 'profile add --concurrency 1e99', args: ['profile', 'add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--concurrency', '1e99', '--no-check'], exit: 2, says: /--concurrency: expected an integer/},
  {title: 'profile add with the key given without its flag', args: ['profile', 'add', 'office', 'K005SecretSecretSecretSecret123', '--key-id', 'k', '--bucket', 'office-backups', '--no-check'], exit: 2, says: /^unexpected argument/},
  {title: 'profile add --key-file=/dev/zero via file:', args: ['profile', 'add', 'office', '--key-id', 'k', '--application-key', 'file:/dev/zero', '--bucket', 'office-backups'], exit: 2, says: /cannot be used \(it is a device/},
  {title: 'profile update ../x', args: ['profile', 'update', '../x', '--concurrency', '2', '--no-check'], exit: 2, says: /no profile named "\.\.\/x"/},
  {title: 'profile remove a name of 2,000 characters', args: ['profile', 'remove', LONG], exit: 2, says: /\(2000 characters\)/},
  {title: 'an unknown flag', args: ['list', '--bogus', '-p', 'home'], exit: 2, says: /Nonexistent flag: --bogus/},
  {title: 'emulator --port abc', args: ['emulator', '--port', 'abc'], exit: 2, says: /Expected an integer/},
  // numbers past what a double holds exactly: the line quotes the digits typed, not the rounded 100000000000000000000
  ...[
    {flag: '--keep-last', args: ['prune', '--dry-run', '-p', 'home'], says: /^Parsing --keep-last: Expected an integer less than or equal to 9007199254740991 but received: 99999999999999999999$/},
    {flag: '--keep-daily', args: ['prune', '--dry-run', '-p', 'home'], says: /^Parsing --keep-daily: Expected an integer less than or equal to 9007199254740991 but received: 99999999999999999999$/},
    {flag: '--progress-interval', args: ['upload', '$D/small.tar', '--dry-run', '-p', 'home'], says: /^Parsing --progress-interval: Expected an integer less than or equal to 9007199254740991 but received: 99999999999999999999$/},
    {flag: '--port', args: ['emulator'], says: /^Parsing --port: Expected an integer less than or equal to 65535 but received: 99999999999999999999$/},
    {flag: '--concurrency', args: ['upload', '$D/small.tar', '--dry-run', '-p', 'home'], says: /^--concurrency: expected an integer 1\.\.64, got "99999999999999999999"$/},
    {flag: '--lock-days', args: ['upload', '$D/small.tar', '--dry-run', '-p', 'home'], says: /^--lock-days: expected whole days 1\.\.36500, got "99999999999999999999"$/},
    {flag: '--part-size', args: ['upload', '$D/small.tar', '--dry-run', '-p', 'home'], says: /^--part-size: expected a size .*, got "99999999999999999999" \(too large\)$/},
    {flag: '--expect-size', args: ['upload', '-', '--dry-run', '-p', 'home'], says: /^--expect-size "99999999999999999999": too large;/},
  ].map((c) => ({title: `${c.args[0]} ${c.flag} 99999999999999999999`, args: [...c.args, c.flag, '99999999999999999999'], exit: 2, says: c.says})),
];

const cases: Case[] = [
  ...FILES.map((f) => ({title: `profiles file: ${f.title}`, args: ['list', '--config', `$D/${f.name}`], exit: 2, says: f.says})),
  ...ARGS.map((c) => ({...c, args: [...c.args, '--config', '$C']})),
];

async function bucketFiles(): Promise<string[]> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: world.emu.bucketId, maxFileCount: 10_000});
  const unfinished = await api(world.emu, auth.authorizationToken, 'b2_list_unfinished_large_files', {bucketId: world.emu.bucketId});
  return [...r.json.files.map((f: {fileName: string; fileId: string}) => `${f.fileName} ${f.fileId}`), ...unfinished.json.files.map((f: {fileId: string}) => `unfinished ${f.fileId}`)];
}

let filesBefore: string[];
beforeAll(async () => {
  world = await E2EWorld.start();
  await mkdir(d(''), {recursive: true});
  await writeFile(d('small.tar'), 'a small archive\n');
  for (const f of FILES) await f.make(d(f.name));
  await world.addProfile('home', {keyId: world.emu.keyId, applicationKey: world.emu.applicationKey, prefix: 'home/'});
  const up = await world.b2(['upload', d('small.tar'), '--profile', 'home']);
  expect(up.code).toBe(0);
  backupId = up.stdout.trim();
  goodProfiles = await readFile(world.config);
  filesBefore = await bucketFiles();
});
afterAll(async () => {
  await world?.close();
});

const outcomes: Array<{title: string; exit: number; line: string}> = [];

describe('hostile CLI input: one clear line, the documented exit code, nothing changed', () => {
  test('the corpus has at least 50 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  test.concurrent.each(cases.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const args = c.args.map((a) => a.replaceAll('$C', world.config).replaceAll('$D', d('').replace(/\/$/, '')).replaceAll('$ID', backupId));
    const r = await runCli(['b2', ...args], {env: {...world.env, HOSTILE_KEY: world.emu.applicationKey}, cwd: world.dir});
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    outcomes.push({title: c.title, exit: r.code, line: lines[0] ?? ''});
    expect({exit: r.code, stdout: r.stdout, stderr: r.stderr.slice(0, 2000)}).toEqual({exit: c.exit, stdout: '', stderr: expect.stringMatching(/^Error: [^\n]*\n$/)});
    expect(lines[0]).toMatch(/^Error: /);
    expect(lines[0].slice('Error: '.length)).toMatch(c.says);
    expect(lines[0].length).toBeLessThan(500);
    expect(await readFile(world.config)).toEqual(goodProfiles);
    expect((await readdir(world.dir)).filter((f) => f.startsWith('.profiles.yaml') || f.endsWith('.lock'))).toEqual([]);
  });

  test('the bucket holds exactly what it held before the corpus ran', async () => {
    expect(await bucketFiles()).toEqual(filesBefore);
    const byExit: Record<string, number> = {};
    for (const o of outcomes) byExit[o.exit] = (byExit[o.exit] ?? 0) + 1;
    process.stdout.write(`hostile input corpus: ${outcomes.length} cases, exit codes ${JSON.stringify(byExit)}\n`);
  });
});
