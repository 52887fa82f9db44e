import {mkdtemp, rmdir, stat} from 'node:fs/promises';
import {dirname, join, resolve} from 'node:path';
import {isBackupError} from '../errors.js';
import {unwritable} from '../io-errors.js';

const FIX = 'choose another place for it with --config or B2_BACKUP_CONFIG';

/**
 * Why a profiles file that does not exist yet cannot be created where it would go, or
 * undefined when it can. Found by trying in the nearest folder that exists: a folder made
 * and removed at once (`profile add` makes folders, then the file). Permissions cannot
 * tell: root may "write" /proc by them, yet /proc takes no new entries (ENOENT).
 */
export async function whyNotCreatable(path: string): Promise<string | undefined> {
  const folder = dirname(resolve(path));
  try {
    let at = folder;
    while (!(await stat(at).catch(missingIsUndefined))) at = dirname(at); // "/" always exists
    if (!(await stat(at)).isDirectory()) throw Object.assign(new Error(`ENOTDIR: ${at}`), {code: 'ENOTDIR'});
    await rmdir(await mkdtemp(join(at, '.backup-b2-probe-')));
    return undefined;
  } catch (err) {
    const line = unwritable(err, `create ${folder}`, 'bad_input', FIX);
    const code = (err as NodeJS.ErrnoException).code;
    return isBackupError(line) ? line.message : `cannot create ${folder}${code ? ` (${code})` : ''}; ${FIX}`;
  }
}

/** What follows the path of a profiles file that does not exist yet: what creates it, or why nothing can. */
export function notCreatedNote(whyNot: string | undefined, addCommand: string): string {
  return whyNot ? `(not created yet, and it cannot be: ${whyNot})` : `(not created yet; "${addCommand}" creates it)`;
}

function missingIsUndefined(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
}
