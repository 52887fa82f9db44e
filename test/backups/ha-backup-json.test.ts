import {describe, test, expect} from '@jest/globals';
import {parseHaBackupJson} from '../../src/backups/ha-backup-json.js';
import {coreBackupJson, haAgentBackupFromDict, supervisorBackupJson} from './ha-fixtures.js';

// backup.json → backup_metadata, rule by rule as HA's read_backup (backup/util.py) takes it.

const parse = (data: unknown) => parseHaBackupJson(JSON.stringify(data));
function ok(data: unknown) {
  const r = parse(data);
  if (!r.ok) throw new Error(`refused: ${r.problem}`);
  expect(() => haAgentBackupFromDict({...r.backup, size: 1})).not.toThrow(); // what the metadata file will carry
  return r.backup;
}
const core = coreBackupJson();

describe('backup.json as read_backup reads it', () => {
  test('the Supervisor\'s backup.json: add-ons (name, slug, version only), folders without "homeassistant", the request date', () => {
    const sup = supervisorBackupJson();
    expect(ok(sup)).toEqual({
      backup_id: sup.slug,
      name: sup.name,
      date: (sup.extra as Record<string, string>)['supervisor.backup_request_date'],
      addons: [
        {name: 'Mosquitto broker', slug: 'core_mosquitto', version: '6.5.1'},
        {name: 'File editor', slug: 'core_configurator', version: '5.8.0'},
      ],
      folders: ['share', 'media'],
      homeassistant_included: true,
      homeassistant_version: '2026.4.1',
      database_included: true,
      extra_metadata: sup.extra,
      protected: true,
    });
  });

  test('defaults: no addons, folders, extra or protected', () => {
    const bare: Record<string, unknown> = {...core};
    for (const key of ['addons', 'folders', 'extra', 'protected']) delete bare[key];
    expect(ok(bare)).toMatchObject({addons: [], folders: [], extra_metadata: {}, protected: false, date: core.date});
  });

  test('homeassistant: included only with a version; the database unless exclude_database', () => {
    const ha = (homeassistant: unknown) => ok({...core, homeassistant});
    expect(ha({version: '2026.4.1'})).toMatchObject({homeassistant_included: true, homeassistant_version: '2026.4.1', database_included: true});
    expect(ha({version: '2026.4.1', exclude_database: true})).toMatchObject({homeassistant_included: true, database_included: false});
    expect(ha({exclude_database: false})).toMatchObject({homeassistant_included: false, homeassistant_version: null, database_included: false});
    expect(ha(null)).toMatchObject({homeassistant_included: false, homeassistant_version: null, database_included: false});
    const {homeassistant: _h, ...without} = core;
    expect(ok(without)).toMatchObject({homeassistant_included: false, database_included: false});
  });

  test('an empty name, the Supervisor\'s default (`ha backups new` without --name), which HA\'s integration stores as it is', () => {
    expect(ok({...supervisorBackupJson(), name: ''})).toMatchObject({name: '', protected: true});
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['a list, not an object', [core], /the document is not an object/],
    ['no slug', {...core, slug: undefined}, /slug is missing/],
    ['a slug that is no usable id', {...core, slug: '../etc'}, /slug must be/],
    ['the slug "latest", a keyword of backup references', {...core, slug: 'latest'}, /^slug is "latest", the word that always names the newest backup$/],
    ['no name', {...core, name: undefined}, /name is missing/],
    ['a name of spaces (no name HA writes)', {...core, name: '  '}, /name is empty/],
    ['a name with a control character', {...core, name: 'a\u0007b'}, /name contains a control character/],
    ['no date, even with a request date', {...core, date: undefined, extra: {'supervisor.backup_request_date': core.date}}, /date is missing/],
    ['a date that is not ISO 8601', {...core, date: '8 April 2026'}, /date "8 April 2026" is not an ISO 8601 date/],
    // days, hours, minutes, seconds and offsets that Python's fromisoformat (HA's suggested_filename) refuses; Date.parse rolls most over
    ...['2026-02-30T10:00:00+00:00', '2026-02-29T10:00:00+00:00', '2026-04-31T10:00:00+02:00', '2026-13-01T10:00:00+00:00', '2026-00-10T10:00:00+00:00', '2026-01-00T10:00:00+00:00', '0000-01-01T10:00:00+00:00', '2026-01-01T24:00:00+00:00', '2026-01-01T10:60:00+00:00', '2026-01-01T10:00:60+00:00', '2026-01-01T10:00:00+24:00', '2026-01-01T10:00:00-01:60'].map(
      (date): [string, unknown, RegExp] => [`a date that names no real time: ${date}`, {...core, date}, new RegExp(`^date "${date.replace(/[+]/g, '\\+')}" is not an ISO 8601 date`)],
    ),
    ['a request date that names no real time', {...core, extra: {'supervisor.backup_request_date': '2026-02-30T10:00:00+00:00'}}, /^date "2026-02-30T10:00:00\+00:00" is not an ISO 8601 date/],
    ['addons not a list', {...core, addons: {}}, /addons is not a list/],
    ['an add-on without a version', {...core, addons: [{name: 'a', slug: 'b'}]}, /addons\[0\]\.version is missing/],
    ['a folder HA does not know', {...core, folders: ['tmp']}, /folder "tmp"/],
    ['an extra value that is a number', {...core, extra: {n: 1}}, /extra\.n is not a string or a boolean/],
    ['homeassistant a string', {...core, homeassistant: 'version'}, /homeassistant is not an object/],
    ['exclude_database a string', {...core, homeassistant: {version: '1', exclude_database: 'false'}}, /exclude_database is not true or false/],
    ['protected a string', {...core, protected: 'yes'}, /protected is not true or false/],
  ];

  test.each(refused)('refused: %s', (_what, data, problem) => {
    const r = parse(data);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.problem).toMatch(problem);
  });

  test('real calendar times at the edges are taken: a leap day, the last second of a day, offsets up to 23:59', () => {
    for (const date of ['2028-02-29T10:00:00+00:00', '2000-02-29T00:00:00Z', '2026-12-31T23:59:59.999999+23:59', '2026-04-30T00:00-12:30', '0001-01-01T00:00:00+00:00']) {
      expect(parse({...core, date})).toMatchObject({ok: true, backup: {date}});
    }
  });

  test('text that is not JSON', () => {
    expect(parseHaBackupJson('{"slug": ')).toMatchObject({ok: false, problem: expect.stringMatching(/^not JSON/)});
  });
});
