import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {constants as bufferConstants} from 'node:buffer';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {parse, stringify} from 'yaml';
import {hasPty, onTerminal} from '../helpers/terminal.js';
import {E2EWorld, calls, expectFailure, parseJson} from './helpers.js';

// `b2 upload` with nothing to upload, as a user gets there: a producer that wrote nothing
// (`true | … upload -`), a 0-byte file, a terminal as stdin (the pipe forgotten). Each is
// bad input: one line, exit 2, nothing stored, and above all no retention prune, which
// would count the empty "backup" and delete the last real one. And a part size valid for
// B2 (5GB) that a pipe cannot hold in memory: one line up front, not a crash.

let world: E2EWorld;
const PROFILE = 'ret';

/** Every call that stores, starts an upload or deletes. */
const WRITES = ['b2_get_upload_url', 'b2_upload_file', 'b2_start_large_file', 'b2_get_upload_part_url', 'b2_upload_part', 'b2_delete_file_version', 'b2_hide_file', 'b2_cancel_large_file'];

function writesSince(before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(WRITES.map((n) => [n, calls(world.emu, n) - (before[n] ?? 0)]).filter(([, v]) => v !== 0));
}

const snapshot = () => ({...world.emu.stats().calls});

/** The names of the backups the profile lists (in this process: a check of the state, not under test). */
async function names(): Promise<string[]> {
  return world.withLocation(PROFILE, async ({catalog}) => (await catalog.list()).map((b) => b.name).sort());
}

beforeAll(async () => {
  world = await E2EWorld.start();
  await world.addProfile(PROFILE, {...(await world.createKey()), prefix: 'ret/'});
  // retention keepLast 1: every upload prunes all other backups, as in the review's report
  const doc = parse(await readFile(world.config, 'utf8')) as {profiles: Record<string, Record<string, unknown>>};
  doc.profiles[PROFILE].retention = {keepLast: 1};
  doc.profiles.big = {...doc.profiles[PROFILE], prefix: 'big/', partSize: '5GB'};
  await writeFile(world.config, stringify(doc), {mode: 0o600});
  await writeFile(join(world.dir, 'a.tar'), 'a real archive');
  await writeFile(join(world.dir, 'empty.tar'), '');
  await world.storeBackup(PROFILE, {path: join(world.dir, 'a.tar')}, {name: 'real'}); // as `b2 upload` stores it, in this process
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('an empty archive is refused (exit 2, one line) and the automatic prune never runs', () => {
  test('empty stdin (`true | b2 upload -`): nothing stored, no upload started, the real backup kept', async () => {
    const before = snapshot();
    const r = await world.b2(['upload', '-', '--name', 'nightly', '--profile', PROFILE], {input: ''});
    expectFailure(r, 2, /^Error: the archive stream is empty \(0 bytes\): a backup is never empty, so nothing was stored; check the program writing the archive into it/, world.secrets);
    expect(r.stderr).not.toMatch(/Pruned|Uploaded/);
    expect(r.stdout).toBe('');
    expect(writesSince(before)).toEqual({});
    expect(await names()).toEqual(['real']);
  });

  test('a 0-byte file: refused before connecting (no call at all), the real backup kept; --dry-run refuses it too', async () => {
    for (const extra of [[], ['--dry-run']]) {
      const before = snapshot();
      const r = await world.b2(['upload', 'empty.tar', '--name', 'nightly', '--profile', PROFILE, ...extra]);
      expectFailure(r, 2, /^Error: empty\.tar is empty \(0 bytes\): a backup is never empty, so nothing was stored; give the path of the archive itself/, world.secrets);
      expect(calls(world.emu, 'b2_authorize_account') - (before.b2_authorize_account ?? 0)).toBe(0);
    }
    expect(await names()).toEqual(['real']);
  });

  test('--expect-size 0 is refused as a bad flag value before connecting, stdin unread; --dry-run too', async () => {
    for (const extra of [[], ['--dry-run']]) {
      const before = snapshot();
      const r = await world.b2(['upload', '-', '--expect-size', '0', '--profile', PROFILE, ...extra], {input: 'some bytes'});
      expectFailure(r, 2, /^Error: --expect-size must be at least 1 \(a backup is never empty\), got "0"; give the stream's length in bytes/, world.secrets);
      expect(calls(world.emu, 'b2_authorize_account') - (before.b2_authorize_account ?? 0)).toBe(0);
    }
  });

  test('a stream that is not empty still goes up and prunes by the rules (the check takes no byte from it)', async () => {
    const r = await world.b2(['upload', '-', '--name', 'piped', '--profile', PROFILE, '--json'], {input: 'x'});
    expect(r.code).toBe(0);
    expect(parseJson<{size: number; pruned: string[]}>(r)).toMatchObject({size: 1, pruned: [expect.any(String)]});
    expect(await names()).toEqual(['piped']);
    // put the real one back for the other tests, as `b2 upload a.tar` would with its prune (in this process)
    const real = await world.storeBackup(PROFILE, {path: join(world.dir, 'a.tar')}, {name: 'real'});
    await world.withLocation(PROFILE, async ({catalog}) => {
      for (const b of await catalog.list()) if (b.id !== real.id) await catalog.delete(b.id);
    });
    expect(await names()).toEqual(['real']);
  });
});

describe('stdin that cannot be read: one line naming stdin and the error, exit 2, nothing stored, no prune', () => {
  test.each([
    ['a directory (`< /tmp`: node reads it as an empty stream)', `< ${JSON.stringify('.')}`, 'it is a directory \\(EISDIR\\)'],
    ['a write-only descriptor (`0> FILE`)', '0> write-only.txt', 'bad file descriptor \\(EBADF\\)'],
  ])('%s', async (_what, redirect, problem) => {
    const before = snapshot();
    const r = await world.pasted(`backup-b2 b2 upload - --name nightly --profile ${PROFILE} --config '${world.config}' ${redirect}`);
    expectFailure(r, 2, new RegExp(`^Error: cannot read the archive from stdin: ${problem}; nothing was stored; pipe the archive in \\(e\\.g\\. tar -c DIR \\| \\S+ b2 upload -\\) or give its path$`), world.secrets);
    expect(writesSince(before)).toEqual({});
    expect(await names()).toEqual(['real']);
  });
});

(hasPty ? describe : describe.skip)('stdin a terminal (needs python3 for a pty)', () => {
  test('`b2 upload -` on a terminal is refused at once (exit 2, one line), before connecting or reading', async () => {
    const before = snapshot();
    // no step sends anything: a command that read the terminal would wait, and the run would end without an exit code
    const r = await onTerminal(['b2', 'upload', '-', '--profile', PROFILE, '--config', world.config], {env: world.env, cwd: world.dir, steps: [{wait: 'Error:'}]});
    expect(r.failed).toBeUndefined();
    const lines = r.output.split(/\r?\n/).filter((l) => l.trim() !== '');
    expect(lines).toEqual([expect.stringMatching(/^Error: stdin is a terminal: "\S+ b2 upload -" reads the archive from a pipe; pipe it in \(e\.g\. tar -c DIR \| \S+ b2 upload -\) or give the archive's path$/)]);
    expect(r.code).toBe(2);
    expect(calls(world.emu, 'b2_authorize_account') - (before.b2_authorize_account ?? 0)).toBe(0);
    expect(await names()).toEqual(['real']);
  });
});

describe('a part size a pipe cannot hold in memory', () => {
  const tooLarge = bufferConstants.MAX_LENGTH < 5e9;

  (tooLarge ? test : test.skip)('`--part-size 5GB` (valid for a file) from stdin: exit 2, one line naming the limit, nothing stored; the same from the profile', async () => {
    const message = new RegExp(`^Error: the part size of 5GB is too large for an upload from a stream: its parts are held in memory, at most ${bufferConstants.MAX_LENGTH} bytes \\(4GiB\\) each; lower the part size \\(partSize, --part-size\\) to 4GiB or less, or upload from a file$`);
    const before = snapshot();
    expectFailure(await world.b2(['upload', '-', '--part-size', '5GB', '--profile', PROFILE], {input: 'x'.repeat(1000)}), 2, message, world.secrets);
    expectFailure(await world.b2(['upload', '-', '--profile', 'big'], {input: 'x'.repeat(1000)}), 2, message, world.secrets);
    expectFailure(await world.b2(['upload', '-', '--profile', 'big', '--dry-run'], {input: 'x'.repeat(1000)}), 2, message, world.secrets);
    expect(writesSince(before)).toEqual({});
    expect(await names()).toEqual(['real']);
  });

  test('`--part-size 5GB` from a file is still taken (its parts are read from disk, not held)', async () => {
    const r = await world.b2(['upload', 'a.tar', '--part-size', '5GB', '--name', 'file', '--profile', 'big', '--no-prune']);
    expect(r.code).toBe(0);
  });
});
