import {describe, expect, test} from '@jest/globals';
import {HOME_PROFILE_YAML, profileYamlLoader} from '../helpers/profile-yaml.js';
import {parseRate} from '../../src/profiles/rate.js';

describe('parseRate', () => {
  test.each([
    ['5MB/s', 5_000_000],
    ['5MB', 5_000_000],
    ['5 MB/s', 5_000_000],
    ['500KiB/s', 512_000],
    ['40Mbit/s', 5_000_000],
    ['40mbit/s', 5_000_000],
    ['8kbit/s', 1000],
    ['1Gbit/s', 125_000_000],
    ['1.5MB/s', 1_500_000],
    [4_000_000, 4_000_000],
  ])('%j is %d bytes a second (MB decimal, MiB binary, bits /8)', (text, bytesPerSecond) => {
    expect(parseRate(text)).toEqual({bytesPerSecond});
  });

  test.each([
    ['fast', 'not a rate'],
    ['5XB/s', 'unknown unit "XB" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)'],
    ['0MB/s', 'below 1KB/s'],
    ['999B/s', 'below 1KB/s'],
    ['-5MB/s', 'not a rate'],
  ])('%j is refused: %s', (text, problem) => {
    expect(parseRate(text)).toEqual({problem});
  });
});

describe('bandwidth in a profile', () => {
  const load = profileYamlLoader();
  const base = HOME_PROFILE_YAML;

  test('upload and download rates resolve to bytes per second', async () => {
    const p = await load(`${base}    bandwidth:\n      upload: 5MB/s\n      download: 40Mbit/s\n`);
    expect(p.bandwidth).toEqual({upload: 5_000_000, download: 5_000_000});
  });

  test('no bandwidth: no limit', async () => {
    expect((await load(base)).bandwidth).toBeUndefined();
  });

  test.each([
    ['    bandwidth:\n      upload: fast\n', /:7: profiles\.home\.bandwidth\.upload: expected a rate such as 5MB\/s, 500KiB\/s or 40Mbit\/s \(at least 1KB\/s\), got "fast" \(not a rate\)$/],
    ['    bandwidth:\n      uplaod: 5MB/s\n', /:7: profiles\.home\.bandwidth\.uplaod: unknown field \(did you mean "upload"\?\); expected one of upload, download$/],
    ['    bandwidth: 5MB/s\n', /:6: profiles\.home\.bandwidth: expected a mapping with upload and\/or download rates, such as \{upload: 5MB\/s\}, got "5MB\/s"$/],
  ])('a mistake names the line, the field and the fix: %j', async (yaml, message) => {
    await expect(load(`${base}${yaml}`)).rejects.toThrow(message);
  });
});
