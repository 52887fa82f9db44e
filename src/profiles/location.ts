import {join, resolve} from 'node:path';

export const PROFILES_FILE_NAME = 'profiles.yaml';

/** Where the profiles file is: `--config PATH`, else env B2_BACKUP_CONFIG, else `<configDir>/profiles.yaml`. */
export function profilesFilePath(opts: {flag?: string; env?: NodeJS.ProcessEnv; configDir: string}): string {
  const chosen = opts.flag || (opts.env ?? process.env).B2_BACKUP_CONFIG || join(opts.configDir, PROFILES_FILE_NAME);
  return resolve(chosen);
}
