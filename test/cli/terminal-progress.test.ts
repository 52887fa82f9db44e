import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot, runCli} from '../helpers/run-cli.js';
import {hasPty, onTerminal, screenLines} from '../helpers/terminal.js';

// Progress as people see it, on a real pseudo-terminal: every frame fits the terminal
// (the bar shrinks, rate and ETA stay), it follows a resize, other lines are never glued
// to it; off a terminal, plain lines in a log file; --quiet and --no-progress.
// The bandwidth limit keeps each transfer on screen for a few seconds.

let dir: string;
let env: Record<string, string>;
let archive: string;
let backupId: string;
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g; // eslint-disable-line no-control-regex

/** Every frame the terminal was sent (between carriage returns and newlines), escapes removed. */
const frames = (output: string) => output.replace(ANSI, '').split(/\r|\n/).filter((f) => f.length > 0);
const progressFrames = (output: string) => frames(output).filter((f) => /ETA/.test(f));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b2-progress-'));
  env = {XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache')};
  archive = join(dir, 'archive.tar');
  await writeFile(archive, randomBytes(24_000_000));
  await writeFile(join(dir, 'small.tar'), 'small'); // above the local store's 16 MB cutoff: hashed first, then parts
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

(hasPty ? describe : describe.skip)('on a terminal (needs python3)', () => {
  test.each([80, 120])('upload at %i columns: every frame fits, rate and ETA always shown, the hashing phase too; the result line is clean', async (cols) => {
    const r = await onTerminal(['b2', 'upload', archive, '--profile', 'local', '--name', `at ${cols}`, '--limit-upload', '8MB'], {cols, env});
    expect(r.code).toBe(0);
    const shown = progressFrames(r.output);
    expect(shown.length).toBeGreaterThan(2);
    for (const f of shown) {
      expect(f.length).toBeLessThan(cols);
      expect(f).toMatch(/\/s +ETA /);
    }
    expect(shown.some((f) => f.startsWith('Checking'))).toBe(true);
    if (cols === 120) expect(shown.some((f) => /^Uploading +\[[#-]{10,}\]/.test(f))).toBe(true);
    const lines = screenLines(r.output).filter((l) => l.trim() !== '');
    expect(lines[lines.length - 1]).toMatch(/^[0-9a-f]{12}$/); // the id, alone on its line
    expect(lines[lines.length - 2]).toMatch(new RegExp(`^Uploaded backup "at ${cols}" \\(`));
    backupId = lines[lines.length - 1];
  });

  test('a resize redraws the line to the new width', async () => {
    const r = await onTerminal(['b2', 'upload', archive, '--profile', 'local', '--name', 'resized', '--limit-upload', '6MB'], {
      cols: 120,
      env,
      steps: [{wait: 'Uploading  ['}, {sleep: 0.5}, {resize: [24, 50]}, {sleep: 1}],
    });
    expect(r.code).toBe(0);
    const afterResize = progressFrames(r.output).slice(-3);
    for (const f of afterResize) {
      expect(f.length).toBeLessThan(50);
      expect(f).toMatch(/\/s +ETA /);
    }
  });

  test('Ctrl-C during an upload: the notice and the error line are whole lines, no bar glued to them (exit 130)', async () => {
    const r = await onTerminal(['b2', 'upload', archive, '--profile', 'local', '--name', 'stopped', '--limit-upload', '4MB'], {
      cols: 80,
      env,
      steps: [{wait: 'Uploading  ['}, {sleep: 0.5}, {send: '\u0003'}],
    });
    expect(r.code).toBe(130);
    const lines = screenLines(r.output).map((l) => l.replace(/^\^C/, '')).filter((l) => l.trim() !== '');
    expect(lines).toContain('Stopping… (Ctrl-C again to quit at once)');
    const error = lines.find((l) => l.includes('Error:'));
    expect(error).toMatch(/^Error: upload interrupted; run the same command again to resume it/);
    expect(lines.filter((l) => /ETA|\[#/.test(l))).toEqual([]);
  });

  test('verify shows progress too; --no-progress and --quiet show none', async () => {
    const shown = await onTerminal(['b2', 'verify', backupId, '--profile', 'local', '--limit-download', '8MB'], {cols: 80, env});
    expect(shown.code).toBe(0);
    expect(progressFrames(shown.output).some((f) => f.startsWith('Verifying'))).toBe(true);
    const none = await onTerminal(['b2', 'verify', backupId, '--profile', 'local', '--no-progress'], {cols: 80, env});
    expect(none.code).toBe(0);
    expect(progressFrames(none.output)).toEqual([]);
    const quiet = await onTerminal(['b2', 'upload', join(dir, 'small.tar'), '--profile', 'local', '--quiet'], {cols: 80, env});
    expect(screenLines(quiet.output).filter((l) => l.trim() !== '')).toEqual([expect.stringMatching(/^[0-9a-f]{12}$/)]);
  });
});

describe('off a terminal', () => {
  test('stderr to a file: a plain progress line every --progress-interval seconds (bytes, %, rate, ETA)', async () => {
    const log = join(dir, 'upload.log');
    const cmd = [process.execPath, join(cliRoot, 'bin/run.js'), 'b2', 'upload', archive, '--profile', 'local', '--name', 'logged', '--limit-upload', '6MB', '--progress-interval', '1'];
    const code = await new Promise<number>((resolve) => {
      execFile('bash', ['-c', `${cmd.map((a) => `'${a}'`).join(' ')} 2>"$LOG" >/dev/null`], {env: {...cleanEnv(), ...env, LOG: log}}, (err) => resolve(err ? Number((err as {code?: number}).code ?? 1) : 0));
    });
    expect(code).toBe(0);
    const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const progress = lines.filter((l) => l.startsWith('Uploading'));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    // the rate is "--" until it has been measured for a few seconds (never a guess such as "0 B/s")
    for (const l of progress) expect(l).toMatch(/^Uploading, [\d.]+ \S+ of 22\.9 MiB, \d+%, ([\d.]+ \S+|--)\/s, ETA \S+$/);
    expect(progress.join('\n')).not.toMatch(/ 0 B\/s/);
    expect(lines.join('\n')).not.toMatch(/[\r\x1b]/); // eslint-disable-line no-control-regex
  });

  test('--quiet on a pipe: only the id on stdout, nothing on stderr', async () => {
    const r = await runCli(['b2', 'upload', join(dir, 'small.tar'), '--profile', 'local', '--quiet'], {env});
    expect(r).toMatchObject({code: 0, stderr: ''});
    expect(r.stdout).toMatch(/^[0-9a-f]{12}\n$/);
  });
});
