import {describe, expect, test} from '@jest/globals';
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {removeStaleTempFilesIn} from '../../src/atomic-file.js';
import {isAlive} from '../../src/process-alive.js';
import {deadPid} from '../helpers/dead-pid.js';

// One helper tells a live process from a dead one for every leftover sweep and lock of
// the provider; only a positive pid names a process.

describe('isAlive', () => {
  test('this process and init are alive, an exited child is not, and neither is a pid that names no single process', () => {
    expect({
      self: isAlive(process.pid),
      init: isAlive(1),
      exited: isAlive(deadPid()),
      zero: isAlive(0),
      minusOne: isAlive(-1),
      huge: isAlive(1e20),
      fraction: isAlive(1.5),
    }).toEqual({self: true, init: true, exited: false, zero: false, minusOne: false, huge: false, fraction: false});
  });

  test('a temp file naming pid 0 (kill(0) signals the process group) is swept as a dead writer\'s, a live writer\'s is kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'process-alive-'));
    try {
      const zero = `.${'a'.repeat(40)}.json.0.0badc0de.tmp`;
      const live = `.${'b'.repeat(40)}.json.${process.pid}.0badc0de.tmp`;
      await writeFile(join(dir, zero), 'half a record');
      await writeFile(join(dir, live), 'being written');
      await removeStaleTempFilesIn(dir);
      expect(await readdir(dir)).toEqual([live]);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });
});
