import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {execFile, spawnSync} from 'node:child_process';
import {writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {BackupCatalog, type BackupInfo} from '../../src/backups/index.js';
import {emulator, openBackend} from '../b2/helpers.js';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot, runCli, type CliResult} from '../helpers/run-cli.js';
import {layOutHaBackups, type HaBackupFixture} from './ha-fixtures.js';
import {tempDir} from './helpers.js';

// b2 list / show / verify / delete as a user runs them: the built CLI in a child process,
// a profile pointing at an emulator over HTTP, ours and Home Assistant's backups side by side.

const PREFIX = 'ha/';
let emu: RunningEmulator;
let backend: B2Backend;
let dir: string;
let cleanup: () => Promise<void>;
let config: string;
let ours: BackupInfo[];
let ha: HaBackupFixture[];

function cli(args: string[]): Promise<CliResult> {
  return runCli(['b2', ...args, '--config', config, '--profile', 'test'], {env: {XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data')}});
}

/** The CLI on a pseudo-terminal (Python's pty plays the user, as in the profile prompt tests). */
function onTerminal(args: string[], answers: Array<[string, string]>): Promise<{output: string; code: number}> {
  const command = [process.execPath, join(cliRoot, 'bin/run.js'), 'b2', ...args, '--config', config, '--profile', 'test'];
  const ptyRun = join(dirname(fileURLToPath(import.meta.url)), '../profiles/pty-run.py');
  const env = {...cleanEnv(), XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config')};
  return new Promise((resolve, reject) => {
    execFile('python3', [ptyRun, JSON.stringify(command), JSON.stringify(answers)], {env}, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))));
  });
}
const hasPty = spawnSync('python3', ['-c', 'import pty'], {stdio: 'ignore'}).status === 0;

const downloads = () => Object.entries(emu.stats().calls).filter(([k]) => k.startsWith('b2_download')).reduce((n, [, v]) => n + v, 0);

beforeAll(async () => {
  emu = await emulator();
  ({dir, cleanup} = await tempDir());
  config = join(dir, 'profiles.yaml');
  await writeFile(config, `profiles:\n  test:\n    keyId: ${emu.keyId}\n    applicationKey: ${emu.applicationKey}\n    bucket: ${emu.bucket}\n    prefix: ${PREFIX}\n    endpoint: ${emu.url}\n`, {mode: 0o600});
  backend = await openBackend(emu, {prefix: PREFIX});
  const catalog = new BackupCatalog(backend);
  ours = [];
  for (const name of ['before upgrade', 'nightly']) ours.push(await catalog.upload(Buffer.from(`archive of ${name}`), {name, metadata: {host: 'nas'}}));
  ha = await layOutHaBackups(backend, 3);
  await backend.put('interrupted.tar', Buffer.from('half an upload'));
}, 60_000);

afterAll(async () => {
  await backend?.close();
  await emu?.stop();
  await cleanup?.();
});

describe('b2 list', () => {
  test('a table, newest first, with a warning for the orphaned archive; then --json; HA metadata is downloaded once', async () => {
    emu.resetStats();
    const table = await cli(['list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+DATE\s+SIZE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/)[0])).toEqual([ours[1].id, ours[0].id, ha[2].backupId, ha[1].backupId, ha[0].backupId]);
    expect(table.stdout).toMatch(new RegExp(`^${ha[0].backupId}\\s+Automatic backup 2026\\.4\\.1\\s+2026-04-08 04:57:43 \\+02:00\\s+2\\.0 KiB$`, 'm'));
    expect(table.stderr).toBe('Warning: skipping interrupted.tar: it has no metadata file interrupted.metadata.json (an interrupted upload, or another tool\'s file)\n');
    expect(downloads()).toBe(3);

    const json = await cli(['list', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(parsed).toHaveLength(5);
    expect(parsed[0]).toEqual({id: ours[1].id, name: 'nightly', date: ours[1].date, size: ours[1].size, sha1: ours[1].sha1, archiveKey: ours[1].archiveKey, metadataKey: ours[1].metadataKey, describedBy: 'archive', lockedUntil: null, lockMode: null});
    expect(parsed[4]).toMatchObject({id: ha[0].backupId, name: 'Automatic backup 2026.4.1', date: ha[0].date, size: 2048, describedBy: 'metadata-file'});
    expect(downloads()).toBe(3); // the second process read the cache
  });
});

describe('b2 show', () => {
  test('human and --json forms, for ours and for HA\'s', async () => {
    const human = await cli(['show', ha[1].backupId]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^made by\s+Home Assistant/m);
    expect(human.stdout).toMatch(/^add-ons\s+Mosquitto broker 6\.5\.1, File editor 5\.8\.0$/m);
    expect(human.stdout).toMatch(/^protected\s+yes/m);

    const json = await cli(['show', ours[0].id, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({id: ours[0].id, name: 'before upgrade', metadata: {extra_metadata: {host: 'nas'}, homeassistant_version: null, created_by: 'backup-plugin-b2'}});
  });

  test('an unknown id exits 4, a bad id exits 2, each with one line', async () => {
    const missing = await cli(['show', 'deadbeef']);
    expect(missing.code).toBe(4);
    // The skipped files are reported here: one of them may be why the id is not found.
    expect(missing.stderr).toMatch(/^Warning: skipping interrupted\.tar[^\n]*\nError: no backup with id deadbeef[^\n]*\n$/);
    const bad = await cli(['show', '../../etc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^Error: invalid backup id "\.\.\/\.\.\/etc"[^\n]*\n$/);
  });
});

describe('b2 verify', () => {
  test('ok for an intact backup (ours and HA\'s), in both forms', async () => {
    const human = await cli(['verify', ours[1].id]);
    expect(human).toMatchObject({code: 0, stderr: ''}); // skipped files are list's business
    expect(human.stdout).toMatch(new RegExp(`^OK backup ${ours[1].id} \\(nightly\\), \\d+ B: size and SHA1 ${ours[1].sha1} match\\n$`));
    const json = await cli(['verify', ha[2].backupId, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ok: true, id: ha[2].backupId, size: 2048, sha1: ha[2].sha1});
  });

  test('a corrupted archive exits 5, in both forms', async () => {
    await emu.corrupt(emu.bucket, `${PREFIX}${ha[0].archiveKey}`);
    const human = await cli(['verify', ha[0].backupId]);
    expect(human.code).toBe(5);
    expect(human.stdout).toMatch(/^FAILED backup /);
    expect(human.stderr).toMatch(new RegExp(`Error: backup ${ha[0].backupId} failed verification`));
    const json = await cli(['verify', ha[0].backupId, '--json']);
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({ok: false, id: ha[0].backupId, expectedSha1: ha[0].sha1});
  });
});

describe('b2 delete', () => {
  test('refuses without --yes when not on a terminal, changing nothing', async () => {
    const refused = await cli(['delete', ours[0].id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect(await backend.stat(ours[0].archiveKey)).toBeDefined();
  });

  (hasPty ? test : test.skip)('on a terminal it asks first: "n" keeps the backup (exit 0, a plain line), "y" deletes it', async () => {
    const question = `Delete backup ${ours[0].id} "before upgrade" of `;
    const kept = await onTerminal(['delete', ours[0].id], [[question, 'n']]);
    expect(kept.code).toBe(0);
    expect(kept.output).toContain(`Kept backup ${ours[0].id} "before upgrade"`);
    expect(kept.output).not.toContain('Error');
    expect(await backend.stat(ours[0].archiveKey)).toBeDefined();

    const deleted = await onTerminal(['delete', ha[1].backupId], [[`Delete backup ${ha[1].backupId}`, 'y']]);
    expect(deleted.code).toBe(0);
    expect(deleted.output).toContain(`Deleted backup ${ha[1].backupId}`);
    expect(await backend.stat(ha[1].archiveKey)).toBeUndefined();
  });

  test('--yes removes both objects; --json reports what was deleted', async () => {
    const human = await cli(['delete', ours[0].id, '--yes']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Deleted backup ${ours[0].id} "before upgrade"`);
    expect(await backend.stat(ours[0].archiveKey)).toBeUndefined();
    expect(await backend.stat(ours[0].metadataKey)).toBeUndefined();

    const json = await cli(['delete', ha[2].backupId, '--yes', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({deleted: {id: ha[2].backupId, archiveKey: ha[2].archiveKey}});
    const left = await new BackupCatalog(backend).list(); // what is left, read in this process (list is tested above)
    expect(left.map((b) => b.id)).toEqual([ours[1].id, ha[0].backupId]);
    expect((await cli(['delete', ours[0].id, '--yes'])).code).toBe(4);
  });
});
