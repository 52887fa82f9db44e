import {loadZod, type Zod} from '../lazy-zod.js';
import {SHA1_HEX} from '../hash.js';
import type {HaBackupDescription} from './ha-backup-json.js';
import {backupIdProblem} from './validate.js';
import {DEFER, answer, isText, isWhole, objectOf, type Check} from '../zod-free-checks.js';

/** The version HA's integration writes and expects in every `.metadata.json`. */
export const METADATA_VERSION = '1';
/** A sidecar is a few hundred bytes; anything much larger is not one and is not downloaded. */
export const MAX_METADATA_FILE_BYTES = 1024 * 1024;

/**
 * `backup_metadata` as HA's AgentBackup.as_dict() writes it (and AgentBackup.from_dict reads
 * it), plus fields of our own that HA ignores.
 */
export interface BackupMetadata {
  addons: {name: string; slug: string; version: string}[];
  backup_id: string;
  date: string;
  database_included: boolean;
  extra_metadata: Record<string, string | boolean>;
  folders: string[];
  homeassistant_included: boolean;
  homeassistant_version: string | null;
  name: string;
  protected: boolean;
  size: number;
  /** Ours: lowercase hex SHA1 of the archive. */
  sha1?: string;
  /** Ours: the tool (and version) that made the backup. */
  created_by?: string;
  [field: string]: unknown;
}

export interface MetadataFile {
  metadata_version: string;
  backup_id: string;
  backup_metadata: BackupMetadata;
}

/**
 * The metadata file of a backup made here. `ha`: what a Home Assistant archive says of
 * itself in its backup.json (its contents, protection); without it, a plain archive
 * holds no Home Assistant parts.
 */
export function buildMetadataFile(m: {
  id: string;
  name: string;
  date: string;
  size: number;
  sha1: string;
  extra: Record<string, string | boolean>;
  createdBy: string;
  ha?: HaBackupDescription;
}): MetadataFile {
  const ha = m.ha;
  return {
    metadata_version: METADATA_VERSION,
    backup_id: m.id,
    backup_metadata: {
      addons: ha?.addons ?? [],
      backup_id: m.id,
      date: m.date,
      database_included: ha?.database_included ?? false,
      extra_metadata: {...m.extra},
      folders: ha?.folders ?? [],
      homeassistant_included: ha?.homeassistant_included ?? false,
      homeassistant_version: ha?.homeassistant_version ?? null,
      name: m.name,
      protected: ha?.protected ?? false,
      size: m.size,
      sha1: m.sha1,
      created_by: m.createdBy,
    },
  };
}

/**
 * What a metadata file must carry for this tool to list it. Looser than HA's from_dict on
 * purpose (a missing `addons` should not hide a backup), strict on what we rely on.
 * Built on first use (zod loads lazily, see lazy-zod.ts).
 */
function buildMetadataFileSchema(z: Zod) {
  const isoDate = z.string().refine(isIsoDate, 'is not an ISO 8601 date');
  const backupId = z.string().refine((s) => backupIdProblem(s) === undefined, 'is not a usable backup id');
  return z.object({
    metadata_version: z.string(),
    backup_id: backupId,
    backup_metadata: z.looseObject({
      backup_id: backupId.optional(),
      // may be empty: the Supervisor's default name, which HA's integration writes as it is
      name: z.string(),
      date: isoDate,
      size: z.number().int().nonnegative().optional(),
      protected: z.boolean().optional(),
      sha1: z.string().regex(SHA1_HEX).optional(),
    }),
  });
}
let schema: ReturnType<typeof buildMetadataFileSchema> | undefined;

/** The zod schema of a metadata file (zod loaded and the schema built on the first call). */
export function metadataFileSchema(): ReturnType<typeof buildMetadataFileSchema> {
  return (schema ??= buildMetadataFileSchema(loadZod()));
}

const isIsoDate = (s: string) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s));
const backupIdCheck: Check = (v) => (isText(v) && backupIdProblem(v) === undefined ? v : DEFER);

/** The schema's answer for a valid metadata file, without zod (see zod-free-checks.ts); undefined: let the schema judge. */
export function fastMetadataFile(value: unknown): unknown {
  return answer(objectOf({
    metadata_version: (v) => (isText(v) ? v : DEFER),
    backup_id: backupIdCheck,
    backup_metadata: (m) => objectOf({
      backup_id: backupIdCheck,
      name: (v) => (isText(v) ? v : DEFER),
      date: (v) => (isText(v) && isIsoDate(v) ? v : DEFER),
      size: (v) => (isWhole(v, 0, Number.MAX_SAFE_INTEGER) ? v : DEFER),
      protected: (v) => (typeof v === 'boolean' ? v : DEFER),
      sha1: (v) => (isText(v) && SHA1_HEX.test(v) ? v : DEFER),
    }, m, {unknown: 'keep', required: ['name', 'date']}),
  }, value, {unknown: 'strip', required: ['metadata_version', 'backup_id', 'backup_metadata']}));
}

/** The metadata file schema's answer: the value, or its first issue. */
function metadataFileAnswer(value: unknown): {success: true; data: unknown} | {success: false; error: {issues: Array<{path: PropertyKey[]; message: string}>}} {
  const fast = fastMetadataFile(value);
  if (fast !== undefined) return {success: true, data: fast};
  return metadataFileSchema().safeParse(value);
}

export type ParsedMetadataFile = {ok: true; file: MetadataFile} | {ok: false; problem: string};

/** JSON text's value, or what is wrong with it (for messages about files other tools wrote). */
export function parseJsonText(text: string): {ok: true; value: unknown} | {ok: false; problem: string} {
  try {
    return {ok: true, value: JSON.parse(text)};
  } catch (err) {
    return {ok: false, problem: `not JSON (${(err as Error).message})`};
  }
}

/** Parses a sidecar's text; never throws, so that one bad file cannot break a listing. */
export function parseMetadataFile(text: string): ParsedMetadataFile {
  const json = parseJsonText(text);
  if (!json.ok) return json;
  const parsed = metadataFileAnswer(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join('.') : 'document';
    return {ok: false, problem: `${where}: ${issue.message}`};
  }
  const file = parsed.data as unknown as MetadataFile;
  if (file.backup_metadata.backup_id !== undefined && file.backup_metadata.backup_id !== file.backup_id) {
    return {ok: false, problem: `backup_id ${file.backup_id} disagrees with backup_metadata.backup_id ${file.backup_metadata.backup_id}`};
  }
  return {ok: true, file};
}

/**
 * How a valid metadata file disagrees with the backup its archive describes (its id, the
 * archive's size, the SHA1 on record): e.g. another backup's file uploaded over this one's.
 * Undefined: it agrees (a field it leaves out agrees).
 */
export function metadataFileMismatch(file: MetadataFile, archive: {id: string; size: number; sha1?: string}): string | undefined {
  const m = file.backup_metadata;
  if (file.backup_id !== archive.id) return `names backup ${file.backup_id}`;
  if (m.size !== undefined && m.size !== archive.size) return `gives a size of ${m.size} bytes, the archive has ${archive.size}`;
  if (m.sha1 !== undefined && archive.sha1 !== undefined && m.sha1 !== archive.sha1) return `records SHA1 ${m.sha1}, the archive ${archive.sha1}`;
  return undefined;
}
