import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import lockfile from 'proper-lockfile';
import {withFileLock} from '../../src/file-lock.js';
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

  test('a lock that stays held: "another command may be using it", exit 1', async () => {
    const path = join(dir, 'held.yaml');
    const release = await lockfile.lock(path, {realpath: false, update: 1000});
    try {
      const err = (await withFileLock(path, async () => 'ran').catch((e: unknown) => e)) as BackupError;
      expect(err).toBeInstanceOf(BackupError);
      expect({kind: err.kind, message: err.message}).toEqual({kind: 'failure', message: `cannot lock ${path}: another command may be using it, try again`});
    } finally {
      await release();
    }
  }, 60_000);

  test('a directory where no lock can be made: the permission problem, bad input, no blame on another command', async () => {
    const err = (await withFileLock('/sys/p.yaml', async () => 'ran').catch((e: unknown) => e)) as BackupError;
    expect(err).toBeInstanceOf(BackupError);
    expect(err.kind).toBe('bad_input');
    expect(err.message).toMatch(/^cannot lock \/sys\/p\.yaml \(creating \/sys\/p\.yaml\.lock\): (operation not permitted \(EPERM\)|permission denied \(EACCES\)); choose a place you may write to/);
  });
});
