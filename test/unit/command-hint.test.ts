import {describe, expect, test} from '@jest/globals';
import {commandHint, configFlags, locationFlags, profileCommandHint, shellWord} from '../../src/command-hint.js';

describe('fix hints that name the location they act on', () => {
  test('the profile always, the profiles file only when --config gave it', () => {
    expect(locationFlags('home')).toBe('--profile home');
    expect(locationFlags('home', '/etc/b2/profiles.yaml')).toBe('--config /etc/b2/profiles.yaml --profile home');
    expect(commandHint('host b2', 'prune --yes', locationFlags('home'))).toBe('host b2 prune --yes --profile home');
    expect(commandHint(undefined, 'cleanup')).toBe('backup-b2 b2 cleanup');
    // a hint naming the profile as its argument (profile update NAME) repeats only the file
    expect(commandHint(undefined, 'profile update home', configFlags('/etc/b2/profiles.yaml'))).toBe('backup-b2 b2 profile update home --config /etc/b2/profiles.yaml');
    expect(commandHint(undefined, 'profile update home', configFlags(undefined))).toBe('backup-b2 b2 profile update home');
    expect(profileCommandHint('host b2', 'default NAME', '/etc/b2/my profiles.yaml')).toBe(`host b2 profile default NAME --config '/etc/b2/my profiles.yaml'`);
    expect(profileCommandHint(undefined, 'add office')).toBe('backup-b2 b2 profile add office');
  });

  test('a path the shell would split or expand is quoted as one word', () => {
    expect(shellWord("/home/me/My Backups/it's.yaml")).toBe(`'/home/me/My Backups/it'\\''s.yaml'`);
    expect(shellWord('$HOME/p.yaml')).toBe(`'$HOME/p.yaml'`);
    expect(shellWord('')).toBe(`''`); // no prefix: still one (empty) word
    expect(locationFlags('home', '~/b2.yaml')).toBe(`--config '~/b2.yaml' --profile home`);
  });
});
