import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {hostname, tmpdir} from 'node:os';
import {join} from 'node:path';
import {runCli} from '../helpers/run-cli.js';
import {hasPty, onTerminal} from '../helpers/terminal.js';
// not from prompt.ts: it loads @inquirer, whose `import process from 'node:process'` makes
// jest read process.stdin, which opens the worker's stdin for the rest of its run
import {suggestedPrefix} from '../../src/profiles/suggested-prefix.js';

// Questions on a real terminal: a "no" is an answer (exit 0), Ctrl-C at any prompt is an
// interruption (exit 130), the key prompt is a line editor (escape sequences never land in
// the key), and `profile add` asks for the prefix with a suggestion and the risk explained.

let dir: string;
let env: Record<string, string>;
let backupId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b2-prompts-'));
  env = {XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache')};
  await writeFile(join(dir, 'a.tar'), 'an archive');
  const up = await runCli(['b2', 'upload', join(dir, 'a.tar'), '--name', 'keepme', '--profile', 'local'], {env});
  expect(up.code).toBe(0);
  backupId = up.stdout.trim();
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const listed = async () => (await runCli(['b2', 'list', '--profile', 'local'], {env})).stdout;

(hasPty ? describe : describe.skip)('on a terminal (needs python3)', () => {
  test('"n" at the delete prompt keeps the backup: exit 0 and a plain line, no error', async () => {
    const r = await onTerminal(['b2', 'delete', backupId, '--profile', 'local'], {env, steps: [{wait: 'Delete backup'}, {send: 'n\r'}]});
    expect(r.code).toBe(0);
    expect(r.output).toContain(`Kept backup ${backupId} "keepme"`);
    expect(r.output).not.toContain('Error');
    expect(await listed()).toContain(backupId);
  });

  test('"n" at the prune prompt keeps every backup: exit 0 and a plain line, nothing in the error log', async () => {
    await writeFile(join(dir, 'b.tar'), 'another archive');
    const up = await runCli(['b2', 'upload', join(dir, 'b.tar'), '--name', 'newer', '--profile', 'local'], {env});
    expect(up.code).toBe(0);
    const r = await onTerminal(['b2', 'prune', '--keep-last', '1', '--profile', 'local'], {env, steps: [{wait: 'Delete 1 backup not kept'}, {send: 'n\r'}]});
    expect(r.code).toBe(0);
    expect(r.output).toContain('Kept all 2 backups; nothing was deleted.');
    expect(r.output).not.toContain('Error');
    expect(await listed()).toContain(backupId);
    const logged = await readFile(join(env.XDG_CACHE_HOME, 'backup-plugin-b2', 'recent-errors.json'), 'utf8').catch(() => '[]');
    expect(JSON.parse(logged)).not.toContainEqual(expect.objectContaining({command: 'b2:prune'}));
  });

  test('Ctrl-C at the delete prompt: exit 130, the backup kept', async () => {
    const r = await onTerminal(['b2', 'delete', backupId, '--profile', 'local'], {env, steps: [{wait: 'Delete backup'}, {send: '\u0003'}]});
    expect(r.code).toBe(130);
    expect(r.output).toMatch(/Error: cancelled at the prompt; nothing was changed/);
    expect(await listed()).toContain(backupId);
  });

  test('Ctrl-C at a profile add prompt (text or hidden): exit 130, no file written', async () => {
    const config = join(dir, 'ctrl-c.yaml');
    const atText = await onTerminal(['b2', 'profile', 'add', 'home', '--no-check', '--config', config], {env, steps: [{wait: 'Application key ID:'}, {send: '\u0003'}]});
    expect(atText.code).toBe(130);
    const atKey = await onTerminal(['b2', 'profile', 'add', 'home', '--no-check', '--config', config], {
      env,
      steps: [{wait: 'Application key ID:'}, {send: '0051234abcd0000000000001\r'}, {wait: 'Application key (input hidden):'}, {send: 'K005abc\u0003'}],
    });
    expect(atKey.code).toBe(130);
    expect(atKey.output).not.toContain('K005abc');
    await expect(stat(config)).rejects.toThrow(/ENOENT/);
  });

  test('profile add asks for the prefix, suggests one, explains the shared-prefix risk; arrow keys never land in the key', async () => {
    const config = join(dir, 'asked.yaml');
    const r = await onTerminal(['b2', 'profile', 'add', 'home', '--no-check', '--config', config], {
      env,
      steps: [
        {wait: 'Application key ID:'},
        {send: '0051234abcd0000000000001\r'},
        {wait: 'Application key (input hidden):'},
        // typed, then cursor left, cursor right, more typed: the key is what was typed, no escape sequence in it
        {send: 'K005typedSECRET\u001b[D\u001b[Cmore\r'},
        {wait: 'Bucket name:'},
        {send: 'home-backups-123456\r'},
        {wait: 'Prefix:'},
        {send: '\r'}, // Enter takes the suggestion
      ],
    });
    expect(r.code).toBe(0);
    expect(r.output).toContain('Give each machine or host a prefix of its own');
    expect(r.output).toContain('changing the prefix later does not move the backups already stored');
    expect(r.output).toContain(suggestedPrefix(hostname()));
    expect(r.output).not.toContain('K005typed');
    const saved = await readFile(config, 'utf8');
    expect(saved).toContain('    applicationKey: K005typedSECRETmore\n');
    expect(saved).toContain(`    prefix: ${suggestedPrefix(hostname())}\n`);
  });
});
