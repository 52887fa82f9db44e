import {describe, expect, test} from '@jest/globals';
import {HOME_PROFILE_YAML, profileYamlLoader} from '../helpers/profile-yaml.js';
import {retentionFor} from '../../src/backups/lock.js';
import {lockForRun, lockOverride} from '../../src/cli/object-lock.js';

// The profile's `lock:` (Object Lock on every upload) and `upload --lock-days/--lock-mode`
// are checked by the same schema, with the same kind of one-line messages.

describe('lock in a profile', () => {
  const load = profileYamlLoader();
  const base = HOME_PROFILE_YAML;

  test('days, or a duration; governance unless the mode says otherwise', async () => {
    expect((await load(`${base}    lock:\n      days: 30\n`)).lock).toEqual({days: 30, mode: 'governance'});
    expect((await load(`${base}    lock: {duration: 1y, mode: compliance}\n`)).lock).toEqual({duration: '1y', mode: 'compliance'});
    expect((await load(base)).lock).toBeUndefined();
  });

  test.each([
    ['    lock:\n      days: 0\n', /:7: profiles\.home\.lock\.days: expected whole days 1\.\.36500, got 0$/],
    ['    lock:\n      days: 30\n      mode: forever\n', /:8: profiles\.home\.lock\.mode: expected governance or compliance, got "forever"$/],
    ['    lock:\n      duration: 2w\n', /:7: profiles\.home\.lock\.duration: expected a duration such as 30d, 6m or 1y, got "2w" \(use a number and a unit y, m, d or h, e\.g\. 30d or 1y\)$/],
    ['    lock:\n      duration: 5h\n', /profiles\.home\.lock\.duration: expected a duration such as 30d, 6m or 1y, got "5h" \(a lock lasts at least a day\)$/],
    ['    lock:\n      mode: governance\n', /profiles\.home\.lock\.days: missing, expected whole days 1\.\.36500/],
    ['    lock:\n      days: 3\n      duration: 3d\n', /profiles\.home\.lock\.duration: expected .*\(give days or duration, not both\)$/],
    ['    lock:\n      dayz: 3\n', /profiles\.home\.lock\.dayz: unknown field \(did you mean "days"\?\); expected one of days, duration, mode$/],
    ['    lock: 30\n', /:6: profiles\.home\.lock: expected a mapping with days \(or duration\) and optionally mode, such as \{days: 30, mode: governance\}, got 30$/],
  ])('a mistake names the line, the field and the fix: %j', async (yaml, message) => {
    await expect(load(`${base}${yaml}`)).rejects.toThrow(message);
  });
});

describe('--lock-days and --lock-mode for one upload', () => {
  const profile = {name: 'home', keyId: 'k', applicationKey: 'a', bucket: 'my-bucket-1', prefix: '', endpoint: 'x', concurrency: 4};

  test('the flags replace the profile lock; --lock-mode alone changes only the mode', () => {
    expect(lockForRun(profile, lockOverride({'lock-days': '7'}))).toEqual({days: 7, mode: 'governance'});
    expect(lockForRun({...profile, lock: {duration: '1y', mode: 'compliance'}}, lockOverride({'lock-days': '7'}))).toEqual({days: 7, mode: 'compliance'});
    expect(lockForRun({...profile, lock: {days: 30, mode: 'compliance'}}, lockOverride({'lock-mode': 'governance'}))).toEqual({days: 30, mode: 'governance'});
    expect(lockForRun(profile, lockOverride({}))).toBeUndefined();
  });

  test.each([
    [{'lock-days': 'soon'}, /^--lock-days: expected whole days 1\.\.36500, got "soon"$/],
    [{'lock-days': '0'}, /^--lock-days: expected whole days 1\.\.36500, got 0$/],
    [{'lock-days': '40000'}, /^--lock-days: expected whole days 1\.\.36500, got 40000$/],
  ])('%j is one line naming the flag', (flags, message) => {
    expect(() => lockOverride(flags)).toThrow(message);
  });

  test('--lock-mode without --lock-days and without a profile lock says what to add', () => {
    expect(() => lockForRun(profile, lockOverride({'lock-mode': 'compliance'}))).toThrow('--lock-mode compliance needs --lock-days N (profile "home" has no "lock:")');
  });

  test('the date is counted from the given clock (B2\'s), in whole calendar units', () => {
    const now = new Date('2026-01-31T10:00:00Z');
    expect(retentionFor({days: 30, mode: 'governance'}, now)).toEqual({mode: 'governance', retainUntil: new Date('2026-03-02T10:00:00Z')});
    expect(retentionFor({duration: '1y', mode: 'compliance'}, now).retainUntil).toEqual(new Date('2027-01-31T10:00:00Z'));
  });
});
