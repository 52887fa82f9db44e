import {randomBytes} from 'node:crypto';
import {mkdir, open, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {writeFileAtomic} from '../atomic-file.js';
import {BackupError} from '../errors.js';
import {startEmulator} from '../emulator/index.js';

export interface EmbeddedB2 {
  url: string;
  keyId: string;
  applicationKey: string;
  bucket: string;
  stop(): Promise<void>;
}

interface Credentials {
  keyId: string;
  applicationKey: string;
}

/**
 * Runs the bundled emulator in-process on a loopback port with its data under
 * `<dataDir>/embedded-b2`, so that a profile with `endpoint: embedded` works with no
 * account and keeps its backups between commands. The key is provisioned on first use
 * and kept (mode 0600) beside the data; the bucket is created when missing.
 */
export async function startEmbeddedB2(dataDir: string, bucket: string, opts: {recommendedPartSize?: number} = {}): Promise<EmbeddedB2> {
  const root = join(dataDir, 'embedded-b2');
  await mkdir(root, {recursive: true, mode: 0o700});
  const releaseLock = await lockDir(root);
  try {
    const creds = await loadOrCreateCredentials(join(root, 'credentials.json'));
    const emu = await startEmulator({port: 0, host: '127.0.0.1', dataDir: join(root, 'data'), recommendedPartSize: opts.recommendedPartSize, bootstrap: {...creds, bucket}});
    return {
      url: emu.url,
      keyId: emu.keyId,
      applicationKey: emu.applicationKey,
      bucket: emu.bucket,
      async stop() {
        try {
          await emu.stop();
        } finally {
          await releaseLock();
        }
      },
    };
  } catch (err) {
    await releaseLock();
    throw err;
  }
}

async function loadOrCreateCredentials(path: string): Promise<Credentials> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Credentials>;
    if (typeof parsed.keyId === 'string' && typeof parsed.applicationKey === 'string') return {keyId: parsed.keyId, applicationKey: parsed.applicationKey};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new BackupError('config', `cannot read the embedded B2 key at ${path}: ${(err as Error).message}; delete the file to provision a new one`);
    }
  }
  const creds = {keyId: `000${randomBytes(11).toString('hex')}`, applicationKey: `K000${randomBytes(14).toString('base64url')}`};
  await writeFileAtomic(path, JSON.stringify(creds) + '\n', {mode: 0o600});
  return creds;
}

/**
 * One process at a time may serve an embedded data dir: two emulators writing the
 * same files would corrupt each other. A lock left by a dead process is taken over.
 */
async function lockDir(root: string): Promise<() => Promise<void>> {
  const path = join(root, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, {force: true});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new BackupError('failure', `the embedded B2 store ${root} is in use by process ${pid}; wait for that command to finish`);
      }
      await rm(path, {force: true});
    }
  }
  throw new BackupError('failure', `cannot lock the embedded B2 store ${root}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
