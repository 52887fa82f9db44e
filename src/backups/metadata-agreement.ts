import type {ObjectInfo} from '../backend.js';
import type {ErrorKind} from '../errors.js';
import {metadataFileMismatch, parseMetadataFile, type MetadataFile} from './metadata-file.js';

/** Reads a metadata file's text, or answers undefined having told `unreadable` why (the catalog's cached read). */
export type MetadataReader = (metadataFile: ObjectInfo, unreadable: (why: string, refusal?: ErrorKind) => void) => Promise<string | undefined>;

/**
 * What a backup's metadata file says of the archive that describes itself: it is that
 * backup's own (`file`), or it cannot be read (`unreadable`: why; `refusal`: the kind of
 * B2's refusal, an SSE-C key's), is no backup metadata file (`invalid`), or records
 * another backup, size or SHA1 (`mismatch`: metadataFileMismatch's words).
 */
export type Agreement = {file: MetadataFile} | {unreadable: string; refusal?: ErrorKind} | {invalid: string} | {mismatch: string};

/** Reads and judges `metadataFile` against the archive (its id, size, and the SHA1 it records of itself, if any). */
export async function metadataAgreement(read: MetadataReader, metadataFile: ObjectInfo, archive: {id: string; size: number; sha1?: string}): Promise<Agreement> {
  let why = '';
  let refusal: ErrorKind | undefined;
  const text = await read(metadataFile, (w, kind) => ((why = w), (refusal = kind)));
  if (text === undefined) return {unreadable: why, ...(refusal ? {refusal} : {})};
  const parsed = parseMetadataFile(text);
  if (!parsed.ok) return {invalid: parsed.problem};
  const mismatch = metadataFileMismatch(parsed.file, archive);
  return mismatch ? {mismatch} : {file: parsed.file};
}

/** The line naming `key` that says why its metadata file cannot serve as the backup's (show warns with it); undefined when it can. */
export function agreementProblem(key: string, found: Agreement): string | undefined {
  if ('file' in found) return undefined;
  if ('unreadable' in found) return `${key} could not be read (${found.unreadable})`;
  if ('invalid' in found) return `${key} is not a valid backup metadata file (${found.invalid})`;
  return `${key} is not this backup's metadata file (it ${found.mismatch})`;
}

/**
 * Why verify or download must fail although the archive matches its own record: its
 * metadata file records another backup, size or SHA1 (the archive or the metadata file
 * was replaced). A metadata file that cannot be had (unreadable, invalid, or its read
 * failed past every retry: a 5xx, a lost network) is warned of, and the archive is
 * checked against its own record alone; a stop (`signal`) still ends the command.
 */
export async function disagreement(check: Promise<Agreement>, key: string, warn: (msg: string) => void, signal?: AbortSignal): Promise<string | undefined> {
  let found: Agreement;
  try {
    found = await check;
  } catch (err) {
    if (signal?.aborted) throw err;
    found = {unreadable: err instanceof Error ? err.message : String(err)};
  }
  const problem = agreementProblem(key, found);
  if (problem === undefined) return undefined;
  if ('mismatch' in found) return `${problem}; the archive or its metadata file was replaced, restore from another backup`;
  warn(`${problem}; the archive is checked against its own record alone`);
  return undefined;
}
