/**
 * The command that runs this plugin's `b2` topic when nothing says otherwise: the
 * package's own bin. Hints never say plain "b2 …": that is Backblaze's own CLI.
 */
export const DEFAULT_CLI = 'backup-b2 b2';

/**
 * One of the plugin's commands as a fix hint writes it, the way the user types it:
 * `cli` is the prefix ("backup-b2 b2" standalone, "<host> b2" inside a host), handed
 * down as a plain option from the CLI (cliPrefix) to the places that build hints.
 * `location` (locationFlags) chooses the backup location the hint acts on: a hint that
 * cleans up, prunes or deletes must not fall back to the default profile.
 */
export function commandHint(cli: string | undefined, words: string, location?: string): string {
  return `${cli ?? DEFAULT_CLI} ${words}${location ? ` ${location}` : ''}`;
}

/**
 * The flags that choose one saved profile again: "--profile home", and the profiles file
 * when one was given with --config (B2_BACKUP_CONFIG and B2_PROFILE need not be repeated
 * in the shell that set them, but naming the profile is never wrong).
 */
export function locationFlags(profileName: string, configFlag?: string): string {
  return [configFlags(configFlag), `--profile ${shellWord(profileName)}`].filter(Boolean).join(' ');
}

/**
 * A `profile …` command as a fix hint writes it, on the profiles file the user gave with
 * --config (else the default one): without it, the hint would edit or read another file.
 */
export function profileCommandHint(cli: string | undefined, words: string, configFlag?: string): string {
  return commandHint(cli, `profile ${words}`, configFlags(configFlag));
}

/** "--config FILE" when the profiles file was given with --config, else nothing: for a hint that names the profile as its argument. */
export function configFlags(configFlag?: string): string {
  return configFlag === undefined ? '' : `--config ${shellWord(configFlag)}`;
}

/** `text` as one word for a POSIX shell: as it is when nothing in it is special, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A file name as one shell word that no command takes for a flag: `./` before one that starts with "-". */
export function fileWord(name: string): string {
  return shellWord(name.startsWith('-') ? `./${name}` : name);
}

/** When `cleanup` (by default) takes a leftover: it leaves younger ones alone, which may be uploads still running elsewhere. */
export const CLEANUP_AGE = "once it is 24 hours old (cleanup's default --older-than)";
