import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {errorLogPath} from '../../src/cli/error-log.js';
import {E2EWorld, expectFailure} from '../e2e/helpers.js';

// A key typed where a profile name, a duration, a prefix, a name or an id goes is never
// repeated: not on stderr, not in the error log, not in what `diagnostics` prints. Real
// CLI processes; most fail before connecting, the id lookups list the emulator's bucket.

/** Shaped like the key of the QA report (K005 + 28 characters). */
const KEY = 'K005secretAppKeyQA1234567890abcd';
/** Every 10 characters in a row of the key: no piece of it may be shown. */
const KEY_PIECES = Array.from({length: KEY.length - 9}, (_, i) => KEY.slice(i, i + 10));
const HIDDEN = 'text that looks like a key \\(not shown\\)';

let world: E2EWorld;

beforeAll(async () => {
  world = await E2EWorld.start();
  world.addSecrets(...KEY_PIECES);
  await world.addProfile('qa', {keyId: world.emu.keyId, applicationKey: world.emu.applicationKey, prefix: 'qa/'});
  await writeFile(join(world.dir, 'small.bin'), 'not an archive, just bytes');
});
afterAll(async () => {
  await world?.close();
});

const cases: Array<{args: string[]; env?: Record<string, string>; code: number; says: RegExp}> = [
  {args: ['list', '--profile', KEY], code: 2, says: new RegExp(`^Error: no profile named ${HIDDEN} in .*; add a profile with "backup-b2 b2 profile add NAME[^"]*" \\(a name of your own\\)$`)},
  {args: ['profile', 'show', KEY], code: 2, says: new RegExp(`no profile named ${HIDDEN} in `)},
  {args: ['profile', 'check', KEY], code: 2, says: new RegExp(`no profile named ${HIDDEN} in `)},
  {args: ['copy', 'latest', '--to', KEY, '--profile', 'qa'], code: 2, says: new RegExp(`no profile named ${HIDDEN} \\(given by --to\\) in `)},
  {args: ['list'], env: {B2_PROFILE: KEY}, code: 2, says: new RegExp(`no profile named ${HIDDEN} \\(given by the environment variable B2_PROFILE`)},
  {args: ['upload', 'small.bin', '--profile', 'qa', '--meta', `=${KEY}`], code: 2, says: new RegExp(`^Error: --meta ${HIDDEN}: expected key=value`)},
  {args: ['prune', '--profile', 'qa', '--keep-within', KEY], code: 2, says: new RegExp(`^Error: --keep-within ${HIDDEN} is not a duration`)},
  {args: ['cleanup', '--profile', 'qa', '--older-than', KEY], code: 2, says: new RegExp(`^Error: --older-than: ${HIDDEN} is not a duration`)},
  {args: ['profile', 'update', 'qa', '--prefix', `${KEY}//`, '--no-check'], code: 2, says: new RegExp(`^Error: --prefix: expected a name prefix .*, got ${HIDDEN} \\(prefix contains "//"\\)$`)},
  {args: ['profile', 'update', 'qa', '--endpoint', `ftp://${KEY}`, '--no-check'], code: 2, says: new RegExp(`^Error: --endpoint: expected .*, got ${HIDDEN} \\(the scheme is ftp\\)$`)},
  {args: ['upload', 'small.bin', '--profile', 'qa', '--name', `x\u0001${KEY}`], code: 2, says: new RegExp(`^Error: invalid backup name ${HIDDEN}: contains a control character`)},
  ...['show', 'download', 'verify'].map((command) => ({args: [command, KEY, '--profile', 'qa'], code: 4, says: new RegExp(`^Error: no backup with id ${HIDDEN} in profile "qa"`)})),
  {args: ['diagnostics', '--profile', KEY], code: 2, says: new RegExp(`no profile named ${HIDDEN} in `)},
  {args: ['delete', KEY, '--profile', 'qa', '--yes'], code: 4, says: new RegExp(`^Error: no backup with id ${HIDDEN} in profile "qa"`)},
];

describe('a key-shaped argument is never repeated', () => {
  const titled = cases.map((c) => ({...c, title: [...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`), 'b2', ...c.args].join(' ').split(KEY).join('KEY')}));
  test.each(titled)('$title', async ({args, env, code, says}) => {
    expectFailure(await world.b2(args, {env}), code, says, world.secrets);
  });

  test('the error log and diagnostics hold no piece of it either', async () => {
    const log = await readFile(errorLogPath(world.cliCacheDir), 'utf8');
    expect(JSON.parse(log)).toHaveLength(cases.length);
    const diagnostics = await world.b2(['diagnostics', '--profile', 'qa']);
    expect(diagnostics.code).toBe(0);
    for (const shared of [log, diagnostics.stdout]) for (const piece of KEY_PIECES) expect(shared.includes(piece) ? `holds ${piece}` : 'clean').toBe('clean');
  });
});
