import {createHash, randomBytes} from 'node:crypto';
import type {StorageBackend} from '../../src/backend.js';

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
  const archive = randomBytes(opts.archiveBytes ?? 2048);
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
