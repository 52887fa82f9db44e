import {join} from 'node:path';
import {BackupError} from '../errors.js';
import {startEmulator} from '../emulator/index.js';

export interface EmbeddedB2 {
  url: string;
  keyId: string;
  applicationKey: string;
  bucket: string;
  stop(): Promise<void>;
}

/**
 * Runs the bundled emulator in-process on a loopback port with its data under
 * `<dataDir>/embedded-b2`, so that a profile with `endpoint: embedded` works with no
 * account and keeps its backups between commands. The emulator provisions its key on
 * first use and keeps it in its data dir; the profile's bucket is created when missing.
 * The emulator locks its data dir, so a second command at the same time is refused.
 */
/** Where the embedded store keeps its data (what "b2 local info" reports). */
export const embeddedDataDir = (dataDir: string): string => join(dataDir, 'embedded-b2');

export async function startEmbeddedB2(dataDir: string, bucket: string, opts: {recommendedPartSize?: number} = {}): Promise<EmbeddedB2> {
  const emu = await startEmulator({port: 0, host: '127.0.0.1', dataDir: embeddedDataDir(dataDir), recommendedPartSize: opts.recommendedPartSize, bootstrap: {bucket}}).catch((err: Error) => {
    throw new BackupError('failure', `cannot start the embedded B2 store: ${err.message}`, {cause: err});
  });
  return {url: emu.url, keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, stop: () => emu.stop()};
}
