import {Command, Flags, Interfaces} from '@oclif/core';
import {EXIT_CODES, isBackupError} from '../errors.js';
import {isClosedPipe, watchStdoutClose} from './closed-pipe.js';
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

  public override async init(): Promise<void> {
    watchStdoutClose();
    await super.init();
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<void> {
    if (isClosedPipe(err)) {
      process.exitCode = 0; // the reader had enough (`| head`): not a failure
      return;
    }
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

/**
 * One line for the user. oclif's parse errors span several ("Parsing --port" then
 * "Expected an integer ≥ 0 but received: -5"); they are joined, minus oclif's help hints.
 */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l.length > 0 && !/^(See more help|Note: |Alternatively, )/.test(l));
  if (lines.length === 0) return 'unknown error';
  return lines.reduce((line, next) => `${line}${line.endsWith(':') ? ' ' : ': '}${next}`);
}
