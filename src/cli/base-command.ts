import {Command, Flags, Interfaces} from '@oclif/core';
import {EXIT_CODES, isBackupError} from '../errors.js';
import {recordError} from './error-log.js';

/**
 * Every command of the plugin extends this: it owns the `--config` flag and turns any
 * failure into one line on stderr with the documented exit code (stack only with DEBUG).
 */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    config: Flags.string({
      description: 'path of the profiles file (default: <config dir>/profiles.yaml)',
      env: 'B2_BACKUP_CONFIG',
      helpGroup: 'GLOBAL',
    }),
  };

  protected override async catch(err: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<void> {
    const exitCode = exitCodeOf(err);
    const message = errorLine(err);
    process.exitCode = exitCode;
    process.stderr.write(`Error: ${message}\n`);
    if (process.env.DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
    const kind = isBackupError(err) ? err.kind : exitCode === 2 ? 'usage' : 'failure';
    await recordError(this.config.cacheDir, {time: new Date().toISOString(), command: this.id ?? '', kind, exitCode, message});
  }
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

/** The `--profile` flag shared by every command that works on one profile. */
export const profileFlag = Flags.string({
  char: 'p',
  description: 'profile to use (see "b2 profile list")',
  env: 'B2_PROFILE',
});

export function exitCodeOf(err: unknown): number {
  if (isBackupError(err)) return err.exitCode;
  const oclifExit = (err as {oclif?: {exit?: number}})?.oclif?.exit;
  if (typeof oclifExit === 'number' && oclifExit !== 0) return oclifExit;
  return EXIT_CODES.failure;
}

/** oclif's parse errors span several lines; a user gets the first meaningful one. */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0 && !l.startsWith('See more help'));
  return line ?? 'unknown error';
}
