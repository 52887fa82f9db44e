import {describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {givenValues, withoutGivenKeys} from '../../src/cli/argument-keys.js';
import {errorLine} from '../../src/cli/base-command.js';
import {shownValue} from '../../src/redact.js';

const KEY = 'K005SecretSecretSecretSecret123';
const HIDDEN = 'text that looks like a key (not shown)';

describe('shownValue: a value holding a key-shaped piece is never quoted', () => {
  test('a key pasted beside its key ID, after a label, in quotes, on its own line', () => {
    const sseKey = randomBytes(32).toString('base64');
    for (const value of [KEY, `0051234abcd0000000000001 ${KEY}`, `0051234abcd0000000000001:${KEY}`, `keyID,${KEY}`, `"${KEY}"`, `id\n${KEY}`, `x ${sseKey} y`, `token=${KEY}`]) {
      expect({value, shown: shownValue(value)}).toEqual({value, shown: HIDDEN});
    }
  });

  test('ordinary typos, with spaces or not, are still quoted', () => {
    for (const value of ['SSE-KMS', 'home backups', 'my bucket 2024', 'backups/HomeAssistant/daily', '0051234abcd0000000000001 extra', 'ha:pi4, daily']) {
      expect(shownValue(value)).toBe(JSON.stringify(value));
    }
  });

  test("oclif's flag errors: a value holding a key is not repeated", () => {
    const oclif = Object.assign(new Error(`Parsing --keep-last \n\tExpected an integer but received: 0051234abcd ${KEY}\nSee more help with --help`), {oclif: {exit: 2}});
    expect(errorLine(oclif)).toBe(`Parsing --keep-last: Expected an integer but received: ${HIDDEN}`);
    const choice = new Error(`Expected --lock-mode=id ${KEY} to be one of: governance, compliance\nSee more help with --help`);
    expect(errorLine(choice)).toBe(`Expected --lock-mode to be one of: governance, compliance, got ${HIDDEN}`);
  });
});

describe('withoutGivenKeys: the backstop where error lines are printed and logged', () => {
  test("a key-shaped piece of the command's arguments or flag variables is not shown, whole or shortened", () => {
    const given = givenValues(['--prefix', `${KEY}//`, '--name', 'home'], {profile: {env: 'B2_PROFILE'}, name: {}}, {B2_PROFILE: `Home2${KEY.slice(4)}`});
    expect(withoutGivenKeys(`prefix "${KEY}//" and "${KEY.slice(0, 20)}…" (44 characters)`, given)).toBe(`prefix "${HIDDEN}//" and "${HIDDEN}…" (44 characters)`);
    expect(withoutGivenKeys(`no profile named Home2${KEY.slice(4)} (given by B2_PROFILE)`, given)).toBe(`no profile named ${HIDDEN} (given by B2_PROFILE)`);
  });

  test('a path that exists, or a file to be made in a folder that exists, is no key, whatever the folder is called', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'Profile-Errors-2024-')); // random, key-shaped: mixed case, digits, 26 characters
    try {
      const line = `${join(folder, 'profiles.yaml')}:2: invalid YAML`;
      expect(withoutGivenKeys(line, givenValues(['--config', join(folder, 'profiles.yaml')], {}, {}))).toBe(line);
      expect(withoutGivenKeys(line, givenValues([`--config=${folder}`], {}, {}))).toBe(line);
      // the same name where no such folder is: hidden
      expect(withoutGivenKeys(`${folder}-gone: no such folder`, givenValues(['--config', join(`${folder}-gone`, 'profiles.yaml')], {}, {}))).toBe(`${tmpdir()}/${HIDDEN}: no such folder`);
    } finally {
      await rm(folder, {recursive: true});
    }
  });

  test('an SSE-C key (base64) whose only "/" is its first character is no file in the root: hidden', () => {
    const rooted = '/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdef=';
    expect(withoutGivenKeys(`got "${rooted}"`, givenValues(['--encryption-key', rooted], {}, {}))).toBe(`got "${HIDDEN}"`);
  });

  test("a message's own words, and what the arguments hold that is no key, stay", () => {
    const line = 'Nonexistent flag: --aplication-key; no backup named "home" in bucket Backups2024SummerHolidays (prefix contains "//")';
    expect(withoutGivenKeys(line, givenValues(['--name', 'home', '--prefix', 'a//b', `--aplication-key=${KEY}`], {}, {}))).toBe(line);
  });
});
