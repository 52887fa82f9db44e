import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runCli} from '../helpers/run-cli.js';

// Table columns are padded by the width a terminal gives each character (CJK and emoji
// take two columns), not by UTF-16 length: `b2 list` of backups named in Japanese and
// with an emoji lines up. The real CLI, the embedded local store.

let dir: string;
let env: Record<string, string>;
const NAMES = ['日本語のバックアップ', '🎉 party', 'plain'];
/** Terminal columns each name takes: 10 wide characters; an emoji, a space and 5 letters; 5 letters. */
const WIDTHS = [20, 8, 5];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b2-widths-'));
  env = {XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache')};
  await writeFile(join(dir, 'a.tar'), 'an archive');
  for (const name of NAMES) {
    const r = await runCli(['b2', 'upload', join(dir, 'a.tar'), '--name', name, '--profile', 'local'], {env});
    expect(r.code).toBe(0);
  }
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

test('b2 list: names with CJK characters and an emoji keep the DATE and SIZE columns aligned on screen', async () => {
  const r = await runCli(['b2', 'list', '--profile', 'local'], {env});
  expect(r.code).toBe(0);
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines[0]).toBe(`ID            NAME${' '.repeat(20 - 4)}  DATE                        SIZE`);
  for (const [i, name] of NAMES.entries()) {
    const row = lines.find((l) => l.includes(name));
    expect(row).toBeDefined();
    // id (8) + 2 spaces + the name padded to 20 columns + 2 spaces: the date starts in column 32 on screen
    expect(row).toMatch(new RegExp(`^[0-9a-f]{12}  ${name}${' '.repeat(20 - WIDTHS[i])}  \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} [+-]\\d{2}:\\d{2}  10 B$`, 'u'));
  }
});
