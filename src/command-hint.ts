/**
 * The command that runs this plugin's `b2` topic when nothing says otherwise: the
 * package's own bin. Hints never say plain "b2 …": that is Backblaze's own CLI.
 */
export const DEFAULT_CLI = 'backup-b2 b2';

/**
 * One of the plugin's commands as a fix hint writes it, the way the user types it:
 * `cli` is the prefix ("backup-b2 b2" standalone, "<host> b2" inside a host), handed
 * down as a plain option from the CLI (cliPrefix) to the places that build hints.
 */
export function commandHint(cli: string | undefined, words: string): string {
  return `${cli ?? DEFAULT_CLI} ${words}`;
}

/** When `cleanup` (by default) takes a leftover: it leaves younger ones alone, which may be uploads still running elsewhere. */
export const CLEANUP_AGE = "once it is 24 hours old (cleanup's default --older-than)";
