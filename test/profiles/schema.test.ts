import {describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {nameProblem} from '../../src/keys.js';
import {bucketProblem, endpointProblem, normalizePrefix, partSizeProblem, profileJsonSchema} from '../../src/profiles/schema.js';
import {shownEndpoint} from '../../src/redact.js';
import {unseenCharacterProblem} from '../../src/backups/validate.js';

describe('prefix normalisation', () => {
  test.each([
    ['', ''],
    ['backups', 'backups/'],
    ['backups/', 'backups/'],
    ['home assistant/2026', 'home assistant/2026/'],
    ['ünï/cödé', 'ünï/cödé/'],
  ])('%j becomes %j', (input, prefix) => {
    expect(normalizePrefix(input)).toEqual({prefix});
  });

  test.each([
    ['/backups', 'prefix starts with "/"'],
    ['a//b', 'prefix contains "//"'],
    ['a\u0007b', 'prefix contains a control character'],
    ['a\u0085b', 'prefix contains a control character (U+0085)'],
    ['ha\u202e/', 'prefix contains U+202E, an invisible or text-direction control character (listings would show a different name)'],
    ['ha\u200b', 'prefix contains U+200B, an invisible or text-direction control character (listings would show a different name)'],
    ['x'.repeat(1025), 'prefix is longer than 1024 bytes of UTF-8'],
    ['x'.repeat(1024), 'prefix is longer than 1024 bytes of UTF-8'], // the added "/" makes 1025
  ])('%j is refused', (input, problem) => {
    expect(normalizePrefix(input)).toEqual({problem});
  });

  test('a usable prefix ends in "/", keeps what was given, and normalises once', () => {
    fc.assert(
      fc.property(fc.string({unit: 'grapheme', maxLength: 40}), (input) => {
        const result = normalizePrefix(input);
        if ('problem' in result) {
          const unseen = unseenCharacterProblem(input);
          expect(nameProblem(input, 'prefix') ?? (unseen && `prefix ${unseen}`) ?? nameProblem(`${input}/`, 'prefix')).toBe(result.problem);
          return;
        }
        if (input === '') return expect(result.prefix).toBe('');
        expect(result.prefix.endsWith('/')).toBe(true);
        expect(result.prefix.startsWith(input)).toBe(true);
        expect(normalizePrefix(result.prefix)).toEqual(result);
      }),
    );
  });
});

describe('bucket names', () => {
  test.each(['abcdef', 'home-assistant-backups-123456', 'a'.repeat(63), '0-0-0-0'])('%s is accepted', (name) => {
    expect(bucketProblem(name)).toBeUndefined();
  });
  test.each([
    ['abcde', 'it has 5 characters'],
    ['a'.repeat(64), 'it has 64 characters'],
    ['Home-Backups', 'it contains "H"'],
    ['home_backups', 'it contains "_"'],
    ['b2-backups', 'names starting with "b2-" are reserved by Backblaze'],
  ])('%s is refused: %s', (name, problem) => {
    expect(bucketProblem(name)).toBe(problem);
  });
});

describe('endpoints and part sizes', () => {
  test.each(['https://api.backblazeb2.com', 'http://127.0.0.1:8080', 'embedded'])('%s is accepted', (endpoint) => {
    expect(endpointProblem(endpoint)).toBeUndefined();
  });
  test.each([
    ['api.backblazeb2.com', 'it is not a URL'],
    ['ftp://example.com', 'the scheme is ftp'],
    ['https://user:pw@example.com', 'it contains credentials; put the key in applicationKey instead'],
    ['https://example.com/?x=1', 'it has a query or fragment'],
  ])('%s is refused: %s', (endpoint, problem) => {
    expect(endpointProblem(endpoint)).toBe(problem);
  });
  test.each([
    ['ftp://example.com/b2', 'ftp://example.com/b2'],
    ['https://user:pw@example.com:8080/x', 'https://…@example.com:8080/x'],
    ['user:pw@example.com', '…@example.com'],
    ['https://example.com/?token=abc#frag', 'https://example.com/?…'],
  ])('a message shows endpoint %s as %s', (endpoint, shown) => {
    expect(shownEndpoint(endpoint)).toBe(shown);
  });
  test('part sizes stay within B2 limits: 5MB..5GB', () => {
    expect(partSizeProblem('5MB')).toEqual({bytes: 5_000_000});
    expect(partSizeProblem('5GB')).toEqual({bytes: 5_000_000_000});
    expect(partSizeProblem('4999999')).toEqual({problem: 'B2 parts must be at least 5MB'});
    expect(partSizeProblem('5GiB')).toEqual({problem: 'B2 parts must be at most 5GB'});
  });
});

describe('profileJsonSchema (what the host sees)', () => {
  test('describes every field, requires the three a connection needs, allows nothing else', () => {
    const schema = profileJsonSchema() as {properties: Record<string, {description?: string}>; required: string[]; additionalProperties: boolean};
    expect(Object.keys(schema.properties)).toEqual(['keyId', 'applicationKey', 'bucket', 'prefix', 'endpoint', 'partSize', 'concurrency', 'bandwidth', 'encryption', 'encryptionKey', 'retention', 'lock']);
    for (const field of Object.values(schema.properties)) expect(field.description).toMatch(/\S/);
    expect(schema.properties.bucket).toMatchObject({pattern: '^[a-z0-9-]{6,63}$'});
    expect(schema.required).toEqual(['keyId', 'applicationKey', 'bucket']);
    expect(schema.additionalProperties).toBe(false);
  });
});
