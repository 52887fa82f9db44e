import {isBackupDate} from './backup-date.js';
import {parseJsonText} from './metadata-file.js';
import {backupNameProblem} from './validate.js';
import {newBackupIdProblem} from './resolve-id.js';

/**
 * What Home Assistant takes from a backup's own `backup.json` when it reads a backup tar
 * (`read_backup` in homeassistant/components/backup/util.py), in the field names of the
 * metadata file's backup_metadata (AgentBackup.as_dict). Size is not here: it is the
 * stored archive's.
 */
export interface HaBackupDescription {
  backup_id: string;
  name: string;
  date: string;
  addons: {name: string; slug: string; version: string}[];
  folders: string[];
  homeassistant_included: boolean;
  homeassistant_version: string | null;
  database_included: boolean;
  extra_metadata: Record<string, string | boolean>;
  protected: boolean;
}

export type ParsedHaBackupJson = {ok: true; backup: HaBackupDescription} | {ok: false; problem: string};

/** HA's Folder enum: read_backup fails on any other value, so such a backup.json describes nothing HA could list. */
const HA_FOLDERS = new Set(['share', 'addons/local', 'ssl', 'media']);
/** The request date the Supervisor records, which HA prefers to `date`. */
const REQUEST_DATE_KEY = 'supervisor.backup_request_date';

class Malformed extends Error {}

/**
 * Maps a backup.json's text the way read_backup does: backup_id = slug; addons (name,
 * slug, version; default []); folders without "homeassistant"; homeassistant_included
 * and its version only when `homeassistant` has a version, and then database_included =
 * not exclude_database (else false); extra_metadata = extra (default {}); date = the
 * Supervisor's request date from extra when present, else date; protected (default
 * false). Where HA would only cast, this checks the type, so that the metadata file
 * written from it is one HA's AgentBackup.from_dict reads. Never throws.
 */
export function parseHaBackupJson(text: string): ParsedHaBackupJson {
  const json = parseJsonText(text);
  if (!json.ok) return json;
  try {
    return {ok: true, backup: mapBackupJson(object(json.value, 'the document'))};
  } catch (err) {
    if (err instanceof Malformed) return {ok: false, problem: err.message};
    throw err;
  }
}

function mapBackupJson(data: Record<string, unknown>): HaBackupDescription {
  const backupId = string(need(data, 'slug'), 'slug');
  const idProblem = newBackupIdProblem(backupId);
  if (idProblem) throw new Malformed(`slug ${idProblem}`);
  const name = string(need(data, 'name'), 'name');
  // "" is the Supervisor's default name (`ha backups new` without --name), which HA's B2
  // integration stores as it is: its files are then named by the date alone
  const nameProblem = name === '' ? undefined : backupNameProblem(name);
  if (nameProblem) throw new Malformed(`name ${nameProblem}`);

  const extra = object(data.extra ?? {}, 'extra');
  for (const [key, value] of Object.entries(extra)) {
    if (typeof value !== 'string' && typeof value !== 'boolean') throw new Malformed(`extra.${key} is not a string or a boolean`);
  }
  // HA evaluates data["date"] even when it takes the request date: both must be there
  const recorded = string(need(data, 'date'), 'date');
  const date = extra[REQUEST_DATE_KEY] === undefined ? recorded : string(extra[REQUEST_DATE_KEY], `extra.${REQUEST_DATE_KEY}`);
  if (!isBackupDate(date)) throw new Malformed(`date ${JSON.stringify(date)} is not an ISO 8601 date with an offset`);

  const addons = list(data.addons ?? [], 'addons').map((a, i) => {
    const addon = object(a, `addons[${i}]`);
    const field = (key: string) => string(need(addon, key, `addons[${i}].${key}`), `addons[${i}].${key}`);
    return {name: field('name'), slug: field('slug'), version: field('version')};
  });
  const folders = list(data.folders ?? [], 'folders').map((f, i) => string(f, `folders[${i}]`)).filter((f) => f !== 'homeassistant');
  const unknown = folders.find((f) => !HA_FOLDERS.has(f));
  if (unknown !== undefined) throw new Malformed(`folder ${JSON.stringify(unknown)} is not one Home Assistant knows`);

  let homeassistantIncluded = false;
  let homeassistantVersion: string | null = null;
  let databaseIncluded = false;
  const ha = data.homeassistant === undefined || data.homeassistant === null ? undefined : object(data.homeassistant, 'homeassistant');
  if (ha && 'version' in ha) {
    homeassistantIncluded = true;
    homeassistantVersion = string(ha.version, 'homeassistant.version');
    databaseIncluded = !boolean(ha.exclude_database ?? false, 'homeassistant.exclude_database');
  }

  return {
    backup_id: backupId,
    name,
    date,
    addons,
    folders,
    homeassistant_included: homeassistantIncluded,
    homeassistant_version: homeassistantVersion,
    database_included: databaseIncluded,
    extra_metadata: extra as Record<string, string | boolean>,
    protected: boolean(data.protected ?? false, 'protected'),
  };
}

function need(obj: Record<string, unknown>, key: string, where = key): unknown {
  if (!(key in obj)) throw new Malformed(`${where} is missing`);
  return obj[key];
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Malformed(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Malformed(`${what} is not a list`);
  return value;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Malformed(`${what} is not a string`);
  return value;
}

function boolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new Malformed(`${what} is not true or false`);
  return value;
}
