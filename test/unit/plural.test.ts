import {describe, expect, test} from '@jest/globals';
import {count, everyOne} from '../../src/plural.js';

// Counts in messages read as a person would write them: "1 backup", "2 backups", and
// "Kept the only backup" where "Kept all 1 backup" would read as a mistake (prune's "no").

describe('plural', () => {
  test('count: the noun agrees with the number', () => {
    expect([0, 1, 2].map((n) => count(n, 'backup'))).toEqual(['0 backups', '1 backup', '2 backups']);
  });

  test('everyOne: "the only backup" for one, "all N backups" for more', () => {
    expect([1, 2, 7].map((n) => `Kept ${everyOne(n, 'backup')}; nothing was deleted.`)).toEqual([
      'Kept the only backup; nothing was deleted.',
      'Kept all 2 backups; nothing was deleted.',
      'Kept all 7 backups; nothing was deleted.',
    ]);
  });
});
