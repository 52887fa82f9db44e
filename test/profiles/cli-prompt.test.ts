import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {execFile, spawnSync} from 'node:child_process';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot} from '../helpers/run-cli.js';

// `b2 profile add` on a terminal asks for what the flags did not give, and never echoes
// the key. Node has no pseudo-terminal of its own, so Python's pty module plays the user.

const here = dirname(fileURLToPath(import.meta.url));
const hasPty = spawnSync('python3', ['-c', 'import pty'], {stdio: 'ignore'}).status === 0;
const SECRET = 'K005typedAtThePromptSECRET01';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'profile-prompt-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

function onTerminal(args: string[], answers: Array<[string, string]>): Promise<{output: string; code: number}> {
  const command = [process.execPath, join(cliRoot, 'bin/run.js'), ...args];
  return new Promise((resolve, reject) => {
    execFile('python3', [join(here, 'pty-run.py'), JSON.stringify(command), JSON.stringify(answers)], {env: cleanEnv()}, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

(hasPty ? describe : describe.skip)('b2 profile add on a terminal (needs python3)', () => {
  test('asks only for the missing values, with the key hidden', async () => {
    const path = join(dir, 'profiles.yaml');
    const {output, code} = await onTerminal(
      ['b2', 'profile', 'add', 'home', '--bucket', 'home-backups-123456', '--no-check', '--config', path],
      [
        ['Application key ID:', '0051234abcd0000000000001'],
        ['Application key (input hidden):', SECRET],
        ['Prefix:', 'home/'],
      ],
    );
    expect(code).toBe(0);
    expect(output).not.toContain('Bucket name');
    expect(output).toContain('0051234abcd0000000000001'); // the key ID is echoed as typed
    expect(output).not.toContain(SECRET);
    expect(output).toContain(`Added profile "home" to ${path}`);
    const saved = await readFile(path, 'utf8');
    expect(saved).toContain(`    keyId: 0051234abcd0000000000001\n    applicationKey: ${SECRET}\n    bucket: home-backups-123456\n    prefix: home/\n`);
  });
});
