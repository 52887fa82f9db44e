import {spawn} from 'node:child_process';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {captureHome, captureOutput} from './capture.js';
import {cleanEnv, repoRoot} from './host-cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** CLI homes already handed to the secret scan. */
const registeredHomes = new Set<string>();

/** The built CLI under test: the repo's (after `npm run build`), or TEST_CLI_ROOT's copy. */
export const cliRoot = process.env.TEST_CLI_ROOT ?? repoRoot;

/**
 * Runs `node bin/run.js ...args` as a real child process, as a user would (stdin is a
 * pipe, never a TTY). The environment is the runner's minus B2_* / DEBUG / NODE_OPTIONS,
 * with config and data dirs in a private temp dir unless opts.env sets XDG_* itself, so
 * a test never reads or writes the real ~/.config.
 */
export function runCli(args: string[], opts: {env?: Record<string, string>; input?: string; cwd?: string} = {}): Promise<CliResult> {
  const home = join(tmpdir(), `run-cli-${process.pid}`);
  const env = {
    ...cleanEnv(),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CACHE_HOME: join(home, 'cache'),
    ...opts.env,
  };
  if (!registeredHomes.has(env.XDG_CACHE_HOME)) {
    registeredHomes.add(env.XDG_CACHE_HOME);
    for (const dir of [env.XDG_CONFIG_HOME, env.XDG_CACHE_HOME, env.XDG_DATA_HOME]) captureHome(dir);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(cliRoot, 'bin/run.js'), ...args], {cwd: opts.cwd ?? cliRoot, env, stdio: 'pipe'});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      captureOutput(args, Buffer.concat(out), Buffer.concat(err)); // for the suite-wide secret scan
      resolve({code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')});
    });
    child.stdin.on('error', () => {}); // the CLI may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}
