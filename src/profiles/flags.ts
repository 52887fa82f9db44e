import {Flags} from '@oclif/core';
import {isAbsolute, resolve} from 'node:path';
import type {ProfileField, ProfileInput} from './schema.js';
import {parseSecretRef} from './secrets.js';

/**
 * The profile fields as command flags, shared by `profile add` and `profile update`.
 * Values stay strings here: the schema checks them, so a flag and the file get the same
 * message for the same mistake.
 */
export const FLAG_OF: Record<ProfileField, string> = {
  keyId: 'key-id',
  applicationKey: 'application-key',
  bucket: 'bucket',
  prefix: 'prefix',
  endpoint: 'endpoint',
  partSize: 'part-size',
  concurrency: 'concurrency',
  encryption: 'encryption',
  encryptionKey: 'encryption-key',
};

export const flagLabel = (field: ProfileField): string => `--${FLAG_OF[field]}`;

export const profileFieldFlags = {
  'key-id': Flags.string({description: 'application key ID'}),
  'application-key': Flags.string({
    description: 'application key, or env:NAME / file:PATH to read it from there (a relative PATH is from here; asked for, hidden, on a terminal)',
  }),
  bucket: Flags.string({description: 'bucket name'}),
  prefix: Flags.string({description: 'name prefix for this profile\'s backups, e.g. "home/" (empty: none)'}),
  endpoint: Flags.string({description: 'https URL of the B2 API, or "embedded" for the local emulator (empty: Backblaze)'}),
  'part-size': Flags.string({description: 'upload part size, 5MB..5GB, e.g. 100MB, 100MiB (empty: server recommended)'}),
  concurrency: Flags.string({description: 'parallel part uploads, 1..64 (empty: 4)'}),
  encryption: Flags.string({description: 'server-side encryption of uploads: SSE-B2 (B2\'s keys) or SSE-C (your key; lose it and the backups are lost) (empty: the bucket default)'}),
  'encryption-key': Flags.string({description: 'the SSE-C key, 256 bits base64 (e.g. openssl rand -base64 32), or env:NAME / file:PATH; never printed'}),
};

export const checkFlag = {
  check: Flags.boolean({
    default: true,
    allowNo: true,
    description: 'connect and check the key, bucket and prefix before saving (--no-check saves without connecting)',
  }),
};

/** The fields the flags give; numbers are passed as numbers so the file stores them unquoted. */
export function inputFromFlags(flags: Partial<Record<keyof typeof profileFieldFlags, string>>, cwd = process.cwd()): ProfileInput {
  const input: ProfileInput = {};
  for (const [field, flag] of Object.entries(FLAG_OF) as Array<[ProfileField, keyof typeof profileFieldFlags]>) {
    const value = flags[flag];
    if (value === undefined) continue;
    input[field] = field === 'concurrency' || field === 'partSize' ? typedNumber(value) : field === 'applicationKey' || field === 'encryptionKey' ? fromHere(value, cwd) : value;
  }
  return input;
}

/**
 * A number typed for a numeric field, as a number (so the file stores it unquoted) when
 * that number is what was typed; else the text, which the schema refuses quoting it as
 * typed (a double reads "99999999999999999999" as 100000000000000000000).
 */
export function typedNumber(text: string): number | string {
  if (!/^-?\d+(\.\d+)?$/.test(text.trim())) return text;
  const n = Number(text);
  return Math.abs(n) <= Number.MAX_SAFE_INTEGER ? n : text;
}

/**
 * A relative file: reference typed on the command line means a path from where the user
 * is; in the file it would mean one from the profiles file's folder. It is written down
 * absolute. `~` stays as typed (it means the home folder in either place).
 */
function fromHere(value: string, cwd: string): string {
  const ref = parseSecretRef(value);
  if (ref.kind !== 'file' || ref.path.trim() === '' || isAbsolute(ref.path) || ref.path === '~' || ref.path.startsWith('~/')) return value;
  return `file:${resolve(cwd, ref.path)}`;
}
