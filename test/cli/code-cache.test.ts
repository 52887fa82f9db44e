import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {execFile} from 'node:child_process';
import {mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {cliRoot, runCli} from '../helpers/run-cli.js';

// The code cache of the standalone CLI (src/cli/code-cache.ts, enabled by bin/run.js):
// library modules compiled once, then run from V8's cached code with the same behaviour;
// a changed file compiled again; ES modules and sources with import() left to Node.
// Real child processes: the cache hooks Node's CommonJS loader, which jest replaces.

let dir: string;
/** The one mtime some package managers and tar extractions give every file. */
const PACKAGED = new Date('1985-10-26T08:15:00.000Z');
const codeCache = pathToFileURL(join(cliRoot, 'dist/src/cli/code-cache.js')).href;

/** A child that enables the cache in `cacheDir`, requires `lib` from `dir` and prints what it exports; stats on stderr. */
function requireLib(cacheDir: string, v8FlagsAfter?: string): Promise<{out: unknown; stats: {hits: number; misses: number}}> {
  const script = [
    `import {enableCodeCache} from ${JSON.stringify(codeCache)};`,
    `import {createRequire} from 'node:module';`,
    `import {setFlagsFromString} from 'node:v8';`,
    `enableCodeCache(${JSON.stringify(cacheDir)}, {report: (s) => process.stderr.write(JSON.stringify(s))});`,
    `const lib = createRequire(${JSON.stringify(join(dir, 'main.js'))})('lib');`,
    `process.stdout.write(JSON.stringify(await lib.describe()));`,
    ...(v8FlagsAfter ? [`setFlagsFromString(${JSON.stringify(v8FlagsAfter)});`] : []),
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], {cwd: dir}, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve({out: JSON.parse(stdout), stats: JSON.parse(stderr) as {hits: number; misses: number}});
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'code-cache-'));
  const lib = join(dir, 'node_modules/lib');
  await mkdir(lib, {recursive: true});
  await writeFile(join(lib, 'package.json'), JSON.stringify({name: 'lib', main: 'index.js'}));
  await writeFile(join(lib, 'index.js'), [
    `const {twice} = require('./twice.js');`,
    `exports.describe = async () => ({`,
    `  answer: twice(21),`,
    `  file: __filename, dir: __dirname, self: require.resolve('./index.js'), cached: Object.keys(require.cache).some((f) => f.endsWith('twice.js')),`,
    `  lazy: (await require('./lazy.js').load()).value,`,
    `});`,
  ].join('\n'));
  await writeFile(join(lib, 'twice.js'), 'exports.twice = (n) => n * 2;\n');
  await utimes(join(lib, 'twice.js'), PACKAGED, PACKAGED);
  // a dynamic import: left to Node's loader (cached code could not import on Node 20)
  await writeFile(join(lib, 'lazy.js'), `exports.load = () => import (\n  './value.mjs');\n`);
  await writeFile(join(lib, 'value.mjs'), 'export const value = "from an ES module";\n');
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('the code cache of library modules', () => {
  test('a module is compiled once, then runs from the cache with the same behaviour; a changed module is compiled again', async () => {
    const cacheDir = join(dir, 'cache-1');
    const expected = {answer: 42, file: join(dir, 'node_modules/lib/index.js'), dir: join(dir, 'node_modules/lib'), self: join(dir, 'node_modules/lib/index.js'), cached: true, lazy: 'from an ES module'};
    const first = await requireLib(cacheDir);
    expect(first).toEqual({out: expected, stats: {hits: 0, misses: 2}}); // index.js and twice.js; lazy.js has import()
    expect((await readdir(cacheDir)).length).toBe(2);
    expect(await requireLib(cacheDir)).toEqual({out: expected, stats: {hits: 2, misses: 0}});

    // the same length and, as a package manager or tar may leave it, the old mtime: V8's
    // own check (source length) would not see the change
    const twice = join(dir, 'node_modules/lib/twice.js');
    await writeFile(twice, 'exports.twice = (n) => n + 2;\n');
    await utimes(twice, PACKAGED, PACKAGED);
    expect((await stat(twice)).mtime).toEqual(PACKAGED);
    expect(await requireLib(cacheDir)).toEqual({out: {...expected, answer: 23}, stats: {hits: 1, misses: 1}});
  });

  test('a process whose V8 flags changed after start (a transfer\'s heap flag) writes no entries, which the next start would reject', async () => {
    const cacheDir = join(dir, 'cache-flags');
    expect((await requireLib(cacheDir, '--heap-growing-percent=300')).stats).toEqual({hits: 0, misses: 2});
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
    expect((await requireLib(cacheDir)).stats).toEqual({hits: 0, misses: 2});
    expect((await requireLib(cacheDir)).stats).toEqual({hits: 2, misses: 0});
  });

  test('an unwritable cache directory costs nothing but the cache', async () => {
    const blocked = join(dir, 'not-a-dir');
    await writeFile(blocked, 'a file where the cache directory would be');
    const result = await requireLib(join(blocked, 'cache'));
    expect(result.stats.hits).toBe(0);
    expect(result.out).toMatchObject({answer: expect.any(Number), lazy: 'from an ES module'});
  });

  test('the CLI reports the cache under DEBUG, prints the same with it and without it, and NODE_DISABLE_COMPILE_CACHE turns it off', async () => {
    const plain = await runCli(['--help'], {env: {NODE_DISABLE_COMPILE_CACHE: '1', DEBUG: 'backup-b2:code-cache'}});
    await runCli(['--help']); // fills the cache, if this checkout's was empty
    const cached = await runCli(['--help'], {env: {DEBUG: 'backup-b2:code-cache'}});
    expect(cached.code).toBe(0);
    expect(cached.stdout).toBe(plain.stdout);
    expect(plain.stderr).not.toMatch(/code-cache/);
    const hits = /backup-b2:code-cache (\d+) modules compiled from the code cache/.exec(cached.stderr);
    expect(Number(hits?.[1])).toBeGreaterThan(50); // oclif's modules at least
  });

  test('a library loaded after the command started (zod, for a wrong profile) is cached too: the next such run compiles nothing afresh', async () => {
    // every command sets the heap flag of a transfer as it starts; set any later than the
    // cache, it left every module loaded after that point to be compiled by every run
    const config = join(dir, 'wrong-profile.yaml');
    await writeFile(config, 'profiles:\n  home:\n    keyId: k\n    applicationKey: env:X\n    bucket: home-backups\n    concurrency: four\n', {mode: 0o600});
    const refused = () => runCli(['b2', 'list', '--config', config], {env: {DEBUG: 'backup-b2:code-cache'}});
    const counts = (stderr: string) => /(\d+) modules compiled from the code cache, (\d+) compiled afresh/.exec(stderr)?.slice(1).map(Number);
    // the CLI's own cache, emptied: what a fresh install has (other runs meanwhile only refill it)
    await rm(join(cliRoot, 'node_modules/.cache/backup-plugin-b2/code-cache'), {recursive: true, force: true});
    const first = await refused();
    expect(first.code).toBe(2);
    expect(first.stderr).toMatch(/concurrency: expected an integer 1\.\.64, got "four"/);
    const [hitsBefore, afreshBefore] = counts(first.stderr) ?? [];
    const second = await refused();
    expect(second.code).toBe(2);
    expect(afreshBefore).toBeGreaterThan(0);
    expect(counts(second.stderr)).toEqual([hitsBefore + afreshBefore, 0]);
  });
});
