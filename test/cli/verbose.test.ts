import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {E2EWorld} from '../e2e/helpers.js';
import {hasPty, onTerminal, screenLines} from '../helpers/terminal.js';

// -v through the real CLI (a child process) against the emulator with faults injected:
// a line per part started and finished, per retry (reason and wait) and per
// re-authorization; none of them without -v; on a terminal they never collide with the bar.

let world: E2EWorld;
let archive: string;
let backupId: string;
const VERBOSE = /^(Part \d|Range \d|Retry: |Re-authorizing: )/;

beforeAll(async () => {
  world = await E2EWorld.start();
  await world.addProfile('home', {...(await world.createKey()), prefix: 'home/', partSize: '5MB', concurrency: 2});
  archive = join(world.dir, 'archive.tar');
  await writeFile(archive, randomBytes(11_000_000)); // 3 parts of 5 MB, 5 MB, 1 MB
});
afterAll(async () => {
  await world?.close();
});
beforeEach(() => world.emu.faults.clear());

/** A part refused once (503) and an account token that expires once: one retry, one re-authorization. */
function injectFaults(): void {
  world.emu.faults.add({call: 'b2_upload_part', status: 503, count: 1});
  world.emu.faults.add({call: 'b2_get_upload_part_url', expireToken: true, count: 1});
}

describe('b2 upload -v', () => {
  test('a line per part started and done, the retried part\'s retry with its reason and wait, the re-authorization', async () => {
    injectFaults();
    const r = await world.b2(['upload', archive, '--name', 'verbose', '-v']);
    expect(r.code).toBe(0);
    backupId = r.stdout.trim();
    const lines = r.stderr.split('\n');
    for (const n of [1, 2, 3]) {
      const size = n === 3 ? '977 KiB' : '4\\.8 MiB';
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^Part ${n} of 3 \\(${size}\\): uploading$`)));
      expect(lines.filter((l) => new RegExp(`^Part ${n} of 3 \\(.*\\): done$`).test(l))).toHaveLength(1);
    }
    expect(lines.filter((l) => l.startsWith('Retry: '))).toEqual([
      expect.stringMatching(/^Retry: b2_upload_part for "home\/[^"]+" attempt 1 failed \(503 service_unavailable: .*\); retrying (in \d+\.\d s|at once)$/),
    ]);
    expect(lines.filter((l) => l.startsWith('Re-authorizing: '))).toEqual([
      expect.stringMatching(/^Re-authorizing: B2 refused the account token \(401 expired_auth_token.*\); signing in again$/),
    ]);
  });

  test('without -v: the same faults, none of these lines', async () => {
    injectFaults();
    const before = world.emu.stats().errors;
    const r = await world.b2(['upload', archive, '--name', 'quiet about it']);
    expect(r.code).toBe(0);
    const after = world.emu.stats().errors;
    expect((after.service_unavailable ?? 0) - (before.service_unavailable ?? 0)).toBe(1); // the faults did happen
    expect(r.stderr.split('\n').filter((l) => VERBOSE.test(l))).toEqual([]);
  });
});

describe('b2 download -v and verify -v', () => {
  test('a line per range started and done; a cut connection is a retry line', async () => {
    world.emu.faults.add({call: 'b2_download_file_by_id', cutResponseAfterBytes: 100_000, count: 1});
    const r = await world.b2(['download', backupId, '-o', join(world.dir, 'restored.tar'), '-v']);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^Range 0-10999999 \(.*\): downloading$/));
    expect(lines).toContainEqual(expect.stringMatching(/^Range 0-10999999 \(.*\): done$/));
    // the answer cut is the download's first, made by the id listed (the version checked): the retry line names that call
    expect(lines).toContainEqual(expect.stringMatching(/^Retry: b2_download_file_by_id for "home\/[^"]+" attempt 1 failed \(network: .*\); retrying/));
    const verify = await world.b2(['verify', backupId, '-v']);
    expect(verify.code).toBe(0);
    expect(verify.stderr).toMatch(/^Range 0-\d+ \(.*\): done$/m);
  });
});

(hasPty ? describe : describe.skip)('on a terminal (needs python3)', () => {
  test('-v lines and the progress bar never share a line (80 columns)', async () => {
    injectFaults();
    const r = await onTerminal(['b2', 'upload', archive, '--name', 'on a tty', '-v', '--limit-upload', '6MB', '--config', world.config], {cols: 80, env: world.env, cwd: world.dir});
    expect(r.code).toBe(0);
    const lines = screenLines(r.output).filter((l) => l.trim() !== '');
    const verbose = lines.filter((l) => /Part \d|Retry: |Re-authorizing: /.test(l));
    expect(verbose.length).toBeGreaterThanOrEqual(8); // 3 parts started and done, a retry, a re-authorization, …
    for (const l of verbose) {
      expect(l).toMatch(VERBOSE); // starts at the first column: no bar before it
      expect(l).not.toMatch(/ETA|\[[#-]+\]/); // and none after it
    }
  });
});
