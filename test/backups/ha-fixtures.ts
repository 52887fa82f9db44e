import {createHash, randomBytes} from 'node:crypto';
import {gzipSync} from 'node:zlib';
import type {StorageBackend} from '../../src/backend.js';
import {buildTar, type TarMember} from '../helpers/tar-builder.js';

/**
 * Lays out backups exactly as Home Assistant's Backblaze B2 integration writes them,
 * on any StorageBackend (the in-memory one here; B2 over the emulator elsewhere):
 * `<name>_<%Y-%m-%d>_<%H.%M>_<%S%f>.tar` with no file info, then
 * `<same>.metadata.json` holding json.dumps({"metadata_version": "1", "backup_id",
 * "backup_metadata": AgentBackup.as_dict()}) with file info metadata_only=true.
 * Deliberately written without the catalog's code so that a naming bug cannot hide
 * on both sides.
 */
export interface HaBackupFixture {
  backupId: string;
  name: string;
  date: string;
  base: string;
  archiveKey: string;
  metadataKey: string;
  archive: Buffer;
  sha1: string;
  /** The exact bytes of the metadata file. */
  metadataJson: string;
  backupMetadata: Record<string, unknown>;
}

export interface HaFixtureOptions {
  /** Archive size in bytes (default 2,048). */
  archiveBytes?: number;
  /** The archive's exact bytes (e.g. haBackupTar's), in place of random ones. */
  archive?: Buffer;
  /** HA version in names and metadata (default 2026.4.1). */
  haVersion?: string;
  /** Index of the first backup (lets callers add more without clashing names). */
  startIndex?: number;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * Backup i is made at 2026-04-08 04:57:43.001930 +02:00 plus i days and i minutes, so
 * backup 0 is HA's own example: `Automatic_backup_2026.4.1_2026-04-08_04.57_43001930`.
 */
export function haBackupAt(i: number, opts: HaFixtureOptions = {}): {name: string; date: string; base: string; backupId: string} {
  const version = opts.haVersion ?? '2026.4.1';
  const name = `Automatic backup ${version}`;
  // Wall-clock time in the +02:00 zone, computed as if it were UTC.
  const wall = new Date(Date.UTC(2026, 3, 8, 4, 57, 43) + i * (24 * 60 + 1) * 60_000);
  const micros = pad((1930 + i * 7) % 1_000_000, 6);
  const ymd = `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}`;
  const hh = pad(wall.getUTCHours());
  const mm = pad(wall.getUTCMinutes());
  const ss = pad(wall.getUTCSeconds());
  const date = `${ymd}T${hh}:${mm}:${ss}.${micros}+02:00`;
  const base = `Automatic_backup_${version}_${ymd}_${hh}.${mm}_${ss}${micros}`;
  // HA's _generate_backup_id: sha1 of "<date> - <name>" lowercased, first 8 hex digits.
  const backupId = createHash('sha1').update(`${date} - ${name}`.toLowerCase()).digest('hex').slice(0, 8);
  return {name, date, base, backupId};
}

export function haBackupMetadata(at: {name: string; date: string; backupId: string}, size: number, version = '2026.4.1'): Record<string, unknown> {
  // Field order of AgentBackup.as_dict(): BaseBackup's fields, then protected and size.
  return {
    addons: [
      {name: 'Mosquitto broker', slug: 'core_mosquitto', version: '6.5.1'},
      {name: 'File editor', slug: 'core_configurator', version: '5.8.0'},
    ],
    backup_id: at.backupId,
    date: at.date,
    database_included: true,
    extra_metadata: {instance_id: '0c5bd6d0a6a84c1c9d0e2b9d1c6e4f7a', with_automatic_settings: true},
    folders: ['share', 'media'],
    homeassistant_included: true,
    homeassistant_version: version,
    name: at.name,
    protected: true,
    size,
  };
}

/** Python's json.dumps with its defaults: ", " and ": " separators, ensure_ascii. */
export function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Uploads one HA-made backup: archive first, metadata second, as HA does. */
export async function putHaBackup(backend: StorageBackend, i: number, opts: HaFixtureOptions = {}): Promise<HaBackupFixture> {
  const at = haBackupAt(i, opts);
  const archive = opts.archive ?? randomBytes(opts.archiveBytes ?? 2048);
  const backupMetadata = haBackupMetadata(at, archive.length, opts.haVersion);
  const metadataJson = pythonJsonDumps({metadata_version: '1', backup_id: at.backupId, backup_metadata: backupMetadata});
  const archiveKey = `${at.base}.tar`;
  const metadataKey = `${at.base}.metadata.json`;
  await backend.put(archiveKey, archive, {contentType: 'application/x-tar', metadata: {}});
  await backend.put(metadataKey, Buffer.from(metadataJson, 'utf8'), {contentType: 'application/json', metadata: {metadata_only: 'true'}});
  return {
    ...at,
    archiveKey,
    metadataKey,
    archive,
    sha1: createHash('sha1').update(archive).digest('hex'),
    metadataJson,
    backupMetadata,
  };
}

/** Lays out `count` HA-made backups, `concurrency` at a time. */
export async function layOutHaBackups(backend: StorageBackend, count: number, opts: HaFixtureOptions & {concurrency?: number} = {}): Promise<HaBackupFixture[]> {
  const start = opts.startIndex ?? 0;
  const out: HaBackupFixture[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let j = next++; j < count; j = next++) out[j] = await putHaBackup(backend, start + j, opts);
  };
  await Promise.all(Array.from({length: Math.max(1, opts.concurrency ?? 4)}, worker));
  return out;
}

/**
 * A strict TypeScript rendering of HA's AgentBackup.from_dict (homeassistant/components/
 * backup/models.py): every key it reads must be present (Python raises KeyError) with the
 * type the dataclass declares; AddonInfo(**addon) takes exactly name, slug and version;
 * each folder must be a Folder enum value.
 */
export function haAgentBackupFromDict(data: Record<string, unknown>): void {
  const need = (key: string) => {
    if (!(key in data)) throw new Error(`KeyError: ${key}`);
    return data[key];
  };
  const addons = need('addons');
  if (!Array.isArray(addons)) throw new Error('addons is not a list');
  for (const a of addons) {
    const keys = Object.keys(a as object).sort();
    if (keys.join() !== 'name,slug,version') throw new Error(`AddonInfo(**${JSON.stringify(a)})`);
  }
  if (typeof need('backup_id') !== 'string') throw new Error('backup_id');
  const date = need('date');
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$/.test(date)) throw new Error(`date ${String(date)} is not ISO 8601 with an offset`);
  if (typeof need('database_included') !== 'boolean') throw new Error('database_included');
  const extra = need('extra_metadata');
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new Error('extra_metadata');
  for (const v of Object.values(extra)) if (typeof v !== 'string' && typeof v !== 'boolean') throw new Error('extra_metadata value');
  const folders = need('folders');
  if (!Array.isArray(folders) || folders.some((f) => !['share', 'addons/local', 'ssl', 'media'].includes(f as string))) throw new Error('folders');
  if (typeof need('homeassistant_included') !== 'boolean') throw new Error('homeassistant_included');
  const version = need('homeassistant_version');
  if (version !== null && typeof version !== 'string') throw new Error('homeassistant_version');
  if (typeof need('name') !== 'string') throw new Error('name');
  if (typeof need('protected') !== 'boolean') throw new Error('protected');
  const size = need('size');
  if (typeof size !== 'number' || !Number.isInteger(size)) throw new Error('size');
}

/** HA's _parse_metadata: a JSON object with the three required keys. */
export function haParseMetadata(raw: string): Record<string, unknown> {
  const data = JSON.parse(raw) as Record<string, unknown>;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error('JSON content is not a dictionary');
  for (const k of ['metadata_version', 'backup_id', 'backup_metadata']) if (!(k in data)) throw new Error(`Missing required metadata key ${k}`);
  return data;
}

/**
 * HA's _find_backup_file_for_metadata: the archive HA pairs with a metadata file among the
 * names its listing found, taken in B2's order (UTF-8 bytes): the first name other than the
 * metadata file's that starts with its base and ends in ".tar", which need not be
 * `<base>.tar`. Undefined: HA skips the metadata file ("no corresponding backup file").
 */
export function haArchiveFor(metadataKey: string, keys: string[]): string | undefined {
  const base = metadataKey.slice(0, -'.metadata.json'.length);
  const inB2Order = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return inB2Order.find((k) => k.startsWith(base) && k.endsWith('.tar') && k !== metadataKey);
}

/**
 * backup.json as the Supervisor writes it for backup `at` (HA OS; it adds the member last,
 * after the add-ons and folders, see haBackupTar's backupJsonLast): its own fields
 * (type, crypto, repositories, docker, sizes) beside the ones HA reads, `date` in UTC a
 * second after the request date that HA prefers (extra."supervisor.backup_request_date").
 */
export function supervisorBackupJson(at = haBackupAt(0)): Record<string, unknown> {
  return {
    slug: at.backupId,
    version: 2,
    type: 'partial',
    name: at.name,
    date: new Date(Date.parse(at.date) + 1000).toISOString().replace('Z', '+00:00'),
    crypto: 'aes128',
    compressed: true,
    protected: true,
    supervisor_version: '2026.04.0',
    extra: {instance_id: '0c5bd6d0a6a84c1c9d0e2b9d1c6e4f7a', with_automatic_settings: true, 'supervisor.backup_request_date': at.date},
    homeassistant: {version: '2026.4.1', exclude_database: false, size: 12.5},
    addons: [
      {slug: 'core_mosquitto', name: 'Mosquitto broker', version: '6.5.1', size: 0.2},
      {slug: 'core_configurator', name: 'File editor', version: '5.8.0', size: 0.1},
    ],
    repositories: ['core', 'local'],
    folders: ['homeassistant', 'share', 'media'],
    docker: {registries: {}},
  };
}

/** backup.json as HA Core writes it without a Supervisor (no add-ons, no folders), its database left out. */
export function coreBackupJson(at = haBackupAt(1)): Record<string, unknown> {
  return {
    compressed: true,
    date: at.date,
    extra: {instance_id: '0c5bd6d0a6a84c1c9d0e2b9d1c6e4f7a', with_automatic_settings: false},
    homeassistant: {exclude_database: true, version: '2026.4.1'},
    name: at.name,
    protected: false,
    slug: at.backupId,
    type: 'partial',
    version: 2,
  };
}

export interface HaTarOptions {
  /** PAX extended headers before each member (Python's tarfile writes them for float mtimes and non-ASCII names). */
  pax?: boolean;
  /** The member's name: HA writes "./backup.json". */
  memberName?: string;
  /** Put backup.json after the inner archives instead of first. */
  backupJsonLast?: boolean;
  /** Incompressible bytes inside homeassistant.tar.gz (default 200,000). */
  innerBytes?: number;
}

/**
 * A Home Assistant backup tar: an uncompressed outer tar holding backup.json (JSON text,
 * or the exact text given) and `./homeassistant.tar.gz`, a gzipped inner tar of the
 * configuration.
 */
export function haBackupTar(backupJson: Record<string, unknown> | string, opts: HaTarOptions = {}): Buffer {
  const inner = gzipSync(buildTar([
    {name: 'data/configuration.yaml', data: Buffer.from('homeassistant:\n  name: Home\n')},
    {name: 'data/home-assistant_v2.db', data: randomBytes(opts.innerBytes ?? 200_000)},
  ]));
  const pax = (name: string) => (opts.pax ? {path: name, mtime: '1775624263.001930', 'SCHILY.xattr.user.note': 'é'} : undefined);
  const jsonName = opts.memberName ?? './backup.json';
  const text = typeof backupJson === 'string' ? backupJson : pythonJsonDumps(backupJson);
  const json: TarMember = {name: jsonName, data: Buffer.from(text, 'utf8'), pax: pax(jsonName)};
  const ha: TarMember = {name: './homeassistant.tar.gz', data: inner, pax: pax('./homeassistant.tar.gz')};
  return buildTar(opts.backupJsonLast ? [ha, json] : [json, ha]);
}
