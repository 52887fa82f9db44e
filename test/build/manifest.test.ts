import {describe, test, expect} from '@jest/globals';
import {execFile} from 'node:child_process';
import {readFile, readdir} from 'node:fs/promises';
import {join, relative, sep} from 'node:path';
import {promisify} from 'node:util';
import {cleanEnv, repoRoot} from '../helpers/host-cli.js';

const run = promisify(execFile);

async function builtCommandIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const entry of await readdir(dir, {recursive: true, withFileTypes: true})) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const rel = relative(dir, join(entry.parentPath, entry.name)).replace(/\.js$/, '');
    ids.push(rel.split(sep).filter((p) => p !== 'index').join(':'));
  }
  return ids.sort();
}

// A stale oclif.manifest.json silently hides commands from users; the build writes it
// and this test fails if any built command is missing from it.
describe('the build', () => {
  test('oclif.manifest.json lists exactly the built commands', async () => {
    const manifest = JSON.parse(await readFile(join(repoRoot, 'oclif.manifest.json'), 'utf8'));
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
    expect(manifest.version).toBe(pkg.version);
    const built = await builtCommandIds(join(repoRoot, 'dist/commands'));
    expect(built.length).toBeGreaterThan(0);
    expect(Object.keys(manifest.commands).sort()).toEqual(built);
  });

  test('the package root and its emulator subpath import by name, as a host would', async () => {
    const script = `
      const root = await import('backup-plugin-b2');
      const emulator = await import('backup-plugin-b2/emulator');
      console.log(JSON.stringify({
        root: ['B2Backend', 'BackupCatalog', 'BackupError', 'MemoryBackend', 'b2TargetRegistration', 'checkReport'].filter((n) => typeof root[n] !== 'function'),
        emulator: typeof emulator.startEmulator,
      }));`;
    const {stdout} = await run(process.execPath, ['--input-type=module', '-e', script], {cwd: repoRoot, env: cleanEnv()});
    expect(JSON.parse(stdout)).toEqual({root: [], emulator: 'function'});
  });

  test('bin/run.js --help lists the b2 topic', async () => {
    const {stdout} = await run(process.execPath, [join(repoRoot, 'bin/run.js'), '--help'], {env: cleanEnv()});
    expect(stdout).toMatch(/^\s+b2\s+Back up to a Backblaze B2 bucket/m);
  });
});
