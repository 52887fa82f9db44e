import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {StorageBackend} from '../../src/backend.js';
import {BackupCatalog} from '../../src/backups/index.js';
import type {CatalogOptions} from '../../src/backups/index.js';

/** A catalog that records its warnings instead of printing them. */
export function catalogWithWarnings(backend: StorageBackend, opts: CatalogOptions = {}): {catalog: BackupCatalog; warnings: string[]} {
  const warnings: string[] = [];
  const catalog = new BackupCatalog(backend, {...opts, onWarning: (m) => warnings.push(m)});
  return {catalog, warnings};
}

export async function tempDir(): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), 'b2-backups-test-'));
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})};
}

/** Rejects like `promise` does and returns the error, failing the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

export async function keysOf(backend: StorageBackend): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of backend.list()) keys.push(o.key);
  return keys;
}
