import {describe, test, expect} from '@jest/globals';
import {errorLine, exitCodeOf} from '../../src/cli/base-command.js';
import {BackupError} from '../../src/errors.js';

describe('errorLine: one line a user can act on', () => {
  test("joins oclif's multi-line parse errors and keeps the reason", () => {
    expect(errorLine(new Error('Parsing --port \n\tExpected an integer greater than or equal to 0 but received: -5\nSee more help with --help'))).toBe(
      'Parsing --port: Expected an integer greater than or equal to 0 but received: -5',
    );
    expect(errorLine(new Error('Missing 1 required arg:\nid  backup id, as "b2 list" prints it\nSee more help with --help'))).toBe('Missing 1 required arg: id backup id, as "b2 list" prints it');
  });

  test("drops oclif's hints about multi-value flags", () => {
    const text = 'Missing 1 required arg:\nfile  archive to upload\nNote: --meta allows multiple values. Because of this you need to provide all arguments before providing that flag.\nAlternatively, you can use "--" to signify the end of the flags and the beginning of arguments.\nSee more help with --help';
    expect(errorLine(new Error(text))).toBe('Missing 1 required arg: file archive to upload');
  });

  test('a one-line message stays as it is; an empty one still says something', () => {
    expect(errorLine(new BackupError('not_found', 'backup 1a2b3c4d does not exist'))).toBe('backup 1a2b3c4d does not exist');
    expect(errorLine(new Error(''))).toBe('unknown error');
  });

  test('exit codes: BackupError kinds, oclif parse errors, anything else', () => {
    expect(exitCodeOf(new BackupError('checksum_mismatch', 'x'))).toBe(5);
    expect(exitCodeOf(Object.assign(new Error('Nonexistent flag: --bogus'), {oclif: {exit: 2}}))).toBe(2);
    expect(exitCodeOf(new Error('boom'))).toBe(1);
  });
});
