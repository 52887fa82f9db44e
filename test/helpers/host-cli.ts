import {execFile} from 'node:child_process';
import {cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {steersCli} from '../../bench/lib/user-env.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface InstalledHost {
  dir: string;
  /** XDG homes of the host: its config and data dirs live below these. */
  env: Record<string, string>;
  run(args: string[], env?: Record<string, string>): Promise<{code: number; stdout: string; stderr: string}>;
  remove(): Promise<void>;
}

/**
 * Installs the fixture host CLI into a temp dir with this plugin linked into its
 * node_modules (as `plugins link` or a local install would), so tests run the host
 * the way a user does: a separate package that only names the plugin. `withPlugin:
 * false` leaves the plugin out (its `plugins` commands can add it).
 */
export async function installHost(opts: {withPlugin?: boolean} = {}): Promise<InstalledHost> {
  const dir = await mkdtemp(join(tmpdir(), 'host-cli-'));
  await cp(join(repoRoot, 'test/fixtures/host-cli'), dir, {recursive: true, filter: (src) => !src.includes('node_modules')});
  await mkdir(join(dir, 'node_modules/@oclif'), {recursive: true});
  for (const dep of ['@oclif/core', '@oclif/plugin-plugins']) await symlink(join(repoRoot, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
  if (opts.withPlugin === false) {
    // a host without the plugin, for `plugins link` / `plugins install` to add it as users do
    const pkgPath = join(dir, 'package.json');
    const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as {oclif: {plugins: string[]}; dependencies: Record<string, string>};
    pkg.oclif.plugins = pkg.oclif.plugins.filter((p) => p !== 'backup-plugin-b2');
    delete pkg.dependencies['backup-plugin-b2'];
    await writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  } else {
    await symlink(repoRoot, join(dir, 'node_modules/backup-plugin-b2'), 'dir');
  }
  const env = {XDG_CONFIG_HOME: join(dir, '.config'), XDG_DATA_HOME: join(dir, '.data'), XDG_CACHE_HOME: join(dir, '.cache')};
  return {
    dir,
    env,
    run: (args, extra = {}) =>
      new Promise((done) => {
        execFile(process.execPath, [join(dir, 'bin/run.js'), ...args], {cwd: dir, env: {...cleanEnv(), ...env, ...extra}, maxBuffer: 64 << 20}, (err, stdout, stderr) => {
          const code = err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : 1) : 0;
          done({code, stdout, stderr});
        });
      }),
    remove: () => rm(dir, {recursive: true, force: true}),
  };
}

/** The test runner's environment as a user's shell would have it: without what steersCli() names (jest's NODE_ENV=test among them). */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !steersCli(k)) env[k] = v;
  return env;
}
