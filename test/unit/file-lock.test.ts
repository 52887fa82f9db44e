import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import lockfile from 'proper-lockfile';
import {LOCK_WAITS_MS, STALE_MS, withFileLock} from '../../src/file-lock.js';
import {BackupError} from '../../src/errors.js';

// The profiles file's lock: a lock another process holds is waited for, and only a lock
// that stays held is blamed on "another command"; a place where no lock can be made
// (here /sys, which even root cannot write) is said at once, as the permission problem it is.

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-lock-'));
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('withFileLock', () => {
  test('waits for a lock that its holder releases, then runs', async () => {
    const path = join(dir, 'released.yaml');
    const release = await lockfile.lock(path, {realpath: false});
    let releasedFirst = false;
    setTimeout(() => {
      releasedFirst = true;
      void release();
    }, 300);
    await expect(withFileLock(path, async () => releasedFirst)).resolves.toBe(true);
  });

  test('a lock that stays held: "another command may be using it", exit 1, after every wait', async () => {
    const path = join(dir, 'held.yaml');
    const release = await lockfile.lock(path, {realpath: false, update: 1000});
    try {
      const started = Date.now();
      const err = (await withFileLock(path, async () => 'ran', {waitsMs: [100, 200, 300]}).catch((e: unknown) => e)) as BackupError;
      expect(Date.now() - started).toBeGreaterThanOrEqual(590); // it waited each time (a timer may fire a millisecond early by the clock)
      expect(err).toBeInstanceOf(BackupError);
      expect({kind: err.kind, message: err.message}).toEqual({kind: 'failure', message: `cannot lock ${path}: another command may be using it, try again`});
    } finally {
      await release();
    }
  });

  test('the waits for a held lock outlast the time a lock left by a process that died takes to go stale', () => {
    const total = LOCK_WAITS_MS.reduce((sum, wait) => sum + wait, 0);
    expect(total).toBeGreaterThan(STALE_MS + 5_000); // with room for the stale lock to be seen and taken
    expect(Math.max(...LOCK_WAITS_MS)).toBeLessThanOrEqual(200); // a released lock is taken soon after
  });

  test('a directory where no lock can be made: the permission problem, bad input, no blame on another command', async () => {
    const err = (await withFileLock('/sys/p.yaml', async () => 'ran').catch((e: unknown) => e)) as BackupError;
    expect(err).toBeInstanceOf(BackupError);
    expect(err.kind).toBe('bad_input');
    expect(err.message).toMatch(/^cannot lock \/sys\/p\.yaml \(creating \/sys\/p\.yaml\.lock\): (operation not permitted \(EPERM\)|permission denied \(EACCES\)); choose a place you may write to/);
  });
});
