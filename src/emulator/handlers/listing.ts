import {badRequest} from '../b2-error.js';
import {DEFAULT_LIST_FILE_COUNT, MAX_LIST_FILE_COUNT} from '../constants.js';
import {RequestContext} from '../context.js';
import {EmulatorCore} from '../core.js';
import {fileJson, folderJson} from '../file-json.js';
import {compareUtf8} from '../names.js';
import {optInt, optString, reqString} from '../params.js';
import {EmulatorState} from '../state.js';
import {FileRecord} from '../types.js';
import {Handler} from './handler.js';

interface ListRequest {
  bucketId: string;
  prefix: string;
  delimiter?: string;
  startFileName: string;
  startFileId?: string;
  max: number;
}

function listRequest(core: EmulatorCore, ctx: RequestContext, withVersions: boolean): ListRequest {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'listFiles');
  const p = ctx.params;
  const bucket = core.allowedBucket(key, reqString(p, 'bucketId'));
  const prefix = optString(p, 'prefix') ?? '';
  core.allowedName(key, prefix);
  const delimiter = optString(p, 'delimiter') || undefined;
  const startFileName = optString(p, 'startFileName') ?? '';
  const startFileId = withVersions ? optString(p, 'startFileId') : undefined;
  if (startFileId !== undefined && startFileName === '') throw badRequest('startFileId needs startFileName');
  if (startFileId !== undefined && EmulatorState.fileIdSequence(startFileId) === undefined) throw badRequest('Invalid startFileId', 'invalid_file_id');
  const max = optInt(p, 'maxFileCount', 0, MAX_LIST_FILE_COUNT, 'out_of_range') || DEFAULT_LIST_FILE_COUNT;
  return {bucketId: bucket.bucketId, prefix, delimiter, startFileName, startFileId, max};
}

/** Index of the first name ≥ `from` in UTF-8 byte order. */
function lowerBound(names: string[], from: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareUtf8(names[mid], from) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

type Entry = {folder: string} | {file: FileRecord};

/**
 * Walks a bucket's names in UTF-8 order from max(startFileName, prefix), inclusive,
 * yielding each name's entries (`entriesOf`) or, with a delimiter, each sub-folder
 * once. Stops after `max` entries and reports where the next page starts.
 */
function walk(
  core: EmulatorCore,
  r: ListRequest,
  entriesOf: (name: string) => FileRecord[],
): {entries: Entry[]; next: {fileName: string; fileId: string | null} | null} {
  const names = core.state.sortedNames(r.bucketId);
  const from = compareUtf8(r.startFileName, r.prefix) > 0 ? r.startFileName : r.prefix;
  const entries: Entry[] = [];
  for (let i = lowerBound(names, from); i < names.length; ) {
    const name = names[i];
    if (!name.startsWith(r.prefix)) break;
    let files = entriesOf(name);
    if (files.length === 0) {
      i += 1;
      continue;
    }
    const folder = folderOf(name, r.prefix, r.delimiter);
    if (folder !== undefined) {
      if (entries.length === r.max) return {entries, next: {fileName: folder, fileId: null}};
      entries.push({folder});
      while (i < names.length && names[i].startsWith(folder)) i += 1;
      continue;
    }
    if (r.startFileId !== undefined && name === r.startFileName) files = versionsFrom(files, r.startFileId);
    for (const file of files) {
      if (entries.length === r.max) return {entries, next: {fileName: name, fileId: file.fileId}};
      entries.push({file});
    }
    i += 1;
  }
  return {entries, next: null};
}

/**
 * Backblaze: "If there is a file with the given name and ID, it will be first in the list.
 * Otherwise, the first file version that comes after the given name and ID" (a version
 * deleted between pages: the next older one, never the newest again). Versions of a name
 * list newest first, which is descending file ID sequence.
 */
function versionsFrom(files: FileRecord[], startFileId: string): FileRecord[] {
  const at = files.findIndex((f) => f.fileId === startFileId);
  if (at >= 0) return files.slice(at);
  const start = EmulatorState.fileIdSequence(startFileId) ?? Infinity;
  return files.filter((f) => (EmulatorState.fileIdSequence(f.fileId) ?? Infinity) < start);
}

function folderOf(name: string, prefix: string, delimiter: string | undefined): string | undefined {
  if (!delimiter) return undefined;
  const at = name.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : name.slice(0, at + delimiter.length);
}

function entryJson(core: EmulatorCore, ctx: RequestContext, bucketId: string, e: Entry): unknown {
  return 'folder' in e ? folderJson(e.folder, bucketId, core.accountId, ctx.apiVersion) : fileJson(e.file, core.accountId, ctx.apiVersion, ctx.key);
}

/** b2_list_file_names: the newest version of each name, only when it is an upload. */
export const listFileNames: Handler = async (core, ctx) => {
  const r = listRequest(core, ctx, false);
  const {entries, next} = walk(core, r, (name) => {
    const newest = core.state.newestFinished(r.bucketId, name);
    return newest?.action === 'upload' ? [newest] : [];
  });
  return {
    json: {files: entries.map((e) => entryJson(core, ctx, r.bucketId, e)), nextFileName: next?.fileName ?? null},
    names: entries.length,
  };
};

/** b2_list_file_versions: every version, hide markers and unfinished large files included. */
export const listFileVersions: Handler = async (core, ctx) => {
  const r = listRequest(core, ctx, true);
  const {entries, next} = walk(core, r, (name) => core.state.versions(r.bucketId, name));
  return {
    json: {
      files: entries.map((e) => entryJson(core, ctx, r.bucketId, e)),
      nextFileName: next?.fileName ?? null,
      nextFileId: next?.fileId ?? null,
    },
    names: entries.length,
  };
};
