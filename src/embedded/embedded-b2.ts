import {join} from 'node:path';
import {BackupError} from '../errors.js';
import {unwritable} from '../io-errors.js';
import {DataDirInUse} from '../emulator/data-dir-lock.js';
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
 * The emulator locks its data dir, so a second command at the same time is refused:
 * one line saying so, never the emulator's own advice (another --data-dir, or removing
 * a lock entry), which a command cannot follow and which would let two writers in.
 */
/** Where the embedded store keeps its data (what "b2 local info" reports). */
export const embeddedDataDir = (dataDir: string): string => join(dataDir, 'embedded-b2');

export async function startEmbeddedB2(dataDir: string, bucket: string, opts: {recommendedPartSize?: number} = {}): Promise<EmbeddedB2> {
  const dir = embeddedDataDir(dataDir);
  const emu = await startEmulator({port: 0, host: '127.0.0.1', dataDir: dir, recommendedPartSize: opts.recommendedPartSize, bootstrap: {bucket}}).catch((err: Error) => {
    if (err instanceof DataDirInUse) {
      throw new BackupError('failure', `the embedded B2 store in ${dir} is in use by another command (process ${err.pids.join(', ')}); it serves one command at a time: run this one again when that one has finished`, {cause: err, transient: true});
    }
    // a data dir it cannot write (permissions, a file in the way): one line naming it and the fix
    const local = unwritable(err, `start the embedded B2 store in ${dir}`, 'failure', 'make that directory writable, or set XDG_DATA_HOME to a directory you may write to');
    throw local !== err ? local : new BackupError('failure', `cannot start the embedded B2 store: ${err.message}`, {cause: err});
  });
  return {url: emu.url, keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, stop: () => emu.stop()};
}
