import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, readdir, readFile, rm, utimes, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {prepareDestination, writeAtomically} from '../../src/backups/file-output.js';

// A download's temp file as versions before pids were added named it (`.NAME.RANDOM.partial`)
// cannot be told from a live writer's by pid: the next download to the same path removes
// it only once nothing has written to it for a day (PIDLESS_PARTIAL_AGE_MS), never a fresher one.

let dir: string;
const hoursAgo = (h: number) => (Date.now() - h * 3_600_000) / 1000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'temp-file-sweep-'));
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('a download removes what older versions left beside its file', () => {
  test('a pid-less .partial unwritten for two days goes; one written an hour ago stays, and so do other names', async () => {
    const out = join(dir, 'restore.tar');
    const old = '.restore.tar.0badc0de.partial';
    const recent = '.restore.tar.1badc0de.partial';
    const others = ['.other.tar.2badc0de.partial', '.restore.tar.0badc0de.partial.keep'];
    for (const name of [old, recent, ...others]) await writeFile(join(dir, name), 'a part of a backup');
    for (const name of [old, ...others]) await utimes(join(dir, name), hoursAgo(48), hoursAgo(48));
    await utimes(join(dir, recent), hoursAgo(1), hoursAgo(1));

    await writeAtomically(await prepareDestination(out, false), false, (fh) => fh.writeFile('the archive').then(() => undefined));

    expect(await readFile(out, 'utf8')).toBe('the archive');
    expect((await readdir(dir)).sort()).toEqual([recent, ...others, 'restore.tar'].sort());
  });

  test('an old pid-less name that is also a live process\'s temp file of a shorter path stays', async () => {
    // a download to x.PID sees .x.PID.RANDOM.partial: it may be process PID's download to x (this test process is alive)
    const sub = await mkdtemp(join(dir, 'shorter-'));
    const live = `.x.${process.pid}.0badc0de.partial`;
    await writeFile(join(sub, live), 'a part of a backup');
    await utimes(join(sub, live), hoursAgo(48), hoursAgo(48));
    await writeAtomically(await prepareDestination(join(sub, `x.${process.pid}`), false), false, (fh) => fh.writeFile('the archive').then(() => undefined));
    expect((await readdir(sub)).sort()).toEqual([live, `x.${process.pid}`].sort());
  });
});
