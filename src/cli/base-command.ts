import {Command, Errors, Flags, Interfaces, ux} from '@oclif/core';
import {EXIT_CODES, isBackupError} from '../errors.js';
import {escapeInvisible} from '../backups/validate.js';
import {holdsKeyShaped, shownValue} from '../redact.js';
import {isClosedPipe, orStdoutFailure, watchStdoutClose} from './closed-pipe.js';
import {givenValues, withoutGivenKeys} from './argument-keys.js';
import {recordError} from './error-log.js';
import {jsonText} from './json-text.js';
import {makeRoomForTransferBuffers} from './heap-room.js';
import {missingArgument} from './missing-argument.js';
import {warnUnfinishedMove, type Place, type ProfileRef} from './move-record.js';
import {cliPrefix} from './cli-prefix.js';
import {unexpectedArguments} from './unexpected-arguments.js';
import {shownUnknownFlags, unknownFlag} from './unknown-flag.js';
import {clearProgressLine} from './progress.js';
import {stdoutWriteHeldUp} from './stdout-writer.js';

/**
 * Every command of the plugin extends this (through BaseCommand, unless it reads no
 * profiles): it turns any failure into one line on stderr with the documented exit code
 * (stack only with DEBUG), keeps stderr lines clear of a progress bar, and gives V8's heap
 * room for a transfer's buffers (heap-room.ts).
 */
export abstract class PluginCommand extends Command {

  public override async init(): Promise<void> {
    watchStdoutClose(process.stdout, (failure) => void this.report(failure));
    makeRoomForTransferBuffers();
    await super.init();
  }

  /**
   * An informational line on stderr ("Uploaded backup …", "Deleted backup …"): silent with
   * --json, whose output says the same. A progress bar on screen is cleared first, so no
   * line is glued to it. Warnings go through warnLine instead.
   */
  public override logToStderr(message = '', ...args: unknown[]): void {
    clearProgressLine();
    super.logToStderr(message, ...args);
  }

  /**
   * A warning (or Ctrl-C's notice, or a line -v asked for): one line on stderr, --json or not. oclif drops
   * logToStderr and warn under --json, and a script reading the JSON on stdout would
   * then never learn of it; stdout stays the one JSON document either way. Bound, so
   * that it can be handed on as a `warn` callback.
   */
  protected readonly warnLine = (line: string): void => {
    clearProgressLine();
    process.stderr.write(`${line}\n`);
  };

  /**
   * All `--json` output goes through jsonText's escaping: oclif's own logJson stringifies
   * the value again without it, so a C1 control or U+202E from a bucket name would reach
   * a terminal raw. The theme's JSON colours (oclif's theme.json) apply only on a
   * terminal, to the escaped text as it is; off a terminal the output is plain JSON,
   * FORCE_COLOR or not. (oclif's colouring makes an object per token, ~80 MiB for 10,000
   * backups: one more reason to skip it where nobody sees colours.)
   */
  public override logJson(json: unknown): void {
    const text = jsonText(json);
    const theme = this.config.theme?.json;
    process.stdout.write(`${theme && process.stdout.isTTY ? ux.colorizeJson(text, {pretty: false, theme}) : text}\n`);
  }

  /** oclif's own warnings (e.g. a deprecated flag): shown with --json too, as warnLine's are. */
  public override warn(input: string | Error): string | Error {
    clearProgressLine();
    Errors.warn(input);
    return input;
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<void> {
    clearProgressLine();
    if (isClosedPipe(err)) {
      process.exitCode = 0; // the reader had enough (`| head`): not a failure
      return;
    }
    await new Promise(setImmediate); // a failed write to stdout reports its 'error' event after the write's own callback
    const cli = cliPrefix(this.config);
    await this.report(orStdoutFailure(unknownFlag(missingArgument(err, this.id, cli), {id: this.id, flags: this.flagNames()}, cli)));
    // a write to stdout that its reader holds up keeps the event loop alive: exit now, so that an
    // interrupted download ends by its signal (stdout-writer.ts guardExit) instead of waiting
    if (stdoutWriteHeldUp()) process.exit();
  }

  /** Every flag this command takes, by its long name (for "did you mean --json?"). */
  private flagNames(): string[] {
    return [...Object.keys({...this.ctor.baseFlags, ...this.ctor.flags}), ...(this.ctor.enableJsonFlag ? ['json'] : []), 'help'];
  }

  private reported = false;

  /** The one line a failure gets on stderr (after "Error: "): no value typed as an argument in it. */
  private failureLine(err: unknown): string {
    return withoutGivenKeys(describeFailure(err).message, givenValues(this.argv, {...this.ctor.baseFlags, ...this.ctor.flags}));
  }

  /**
   * A failure after the command changed something (README "JSON output"): with --json, what
   * it did is printed first, as its JSON `view` plus `error`, the line stderr gets; answers
   * `err` to throw. An interruption prints nothing (its line says what it left).
   */
  protected printedBeforeFailure(err: unknown, view: object): unknown {
    if (this.jsonEnabled() && !isBackupError(err, 'aborted')) this.logJson({...view, error: this.failureLine(err)});
    return err;
  }

  /** The one line on stderr, the exit code and the error log's entry; once per command (stdout's failure and its consequence are one failure). */
  private async report(err: unknown): Promise<void> {
    if (this.reported) return;
    this.reported = true;
    const {exitCode, kind} = describeFailure(err);
    const message = this.failureLine(err);
    process.exitCode = exitCode;
    process.stderr.write(`Error: ${message}\n`);
    if (process.env.DEBUG && err instanceof Error && err.stack) process.stderr.write(`${stackFrames(err)}\n${causeLine(err)}`);
    await recordError(this.config.cacheDir, {time: new Date().toISOString(), command: this.id ?? '', kind, exitCode, message}, this.argv);
  }
}

/** A command that reads the profiles file: it owns the `--config` flag. */
export abstract class BaseCommand extends PluginCommand {
  static override baseFlags = {
    config: Flags.string({
      description: 'path of the profiles file (default: <config dir>/profiles.yaml)',
      env: 'B2_BACKUP_CONFIG',
      helpGroup: 'GLOBAL',
    }),
  };

  /** Warns when a move of `profile` was killed before it finished (its copies are where the profile does not look): list, show, profile show. */
  protected async warnUnfinishedMove(profile: Place & ProfileRef, configFlag: string | undefined): Promise<void> {
    await warnUnfinishedMove(this.config.dataDir, profile, {cli: cliPrefix(this.config), configFlag, warn: this.warnLine});
  }
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

/** The `--profile` flag shared by every command that works on one profile. */
export const profileFlag = Flags.string({
  char: 'p',
  description: 'profile to use (see "b2 profile list")',
  env: 'B2_PROFILE',
});

/** What anything that is neither a BackupError nor oclif's usage error says: a bug, not bad input. */
export const UNEXPECTED = 'unexpected error (run with DEBUG=1 for details)';

/** The exit code, the kind for the error log, and the one line the user sees. */
export function describeFailure(err: unknown): {exitCode: number; kind: string; message: string} {
  if (isBackupError(err)) return {exitCode: err.exitCode, kind: err.kind, message: errorLine(err)};
  const oclifExit = (err as {oclif?: {exit?: number}})?.oclif?.exit;
  if (typeof oclifExit === 'number' && oclifExit !== 0) return {exitCode: oclifExit, kind: oclifExit === 2 ? 'usage' : 'failure', message: errorLine(err)};
  // a programming error or an unclassified failure: nothing says nothing was changed
  const code = (err as {code?: unknown})?.code;
  const message = typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? `${UNEXPECTED.replace(' (', ` ${code} (`)}` : UNEXPECTED;
  return {exitCode: EXIT_CODES.failure, kind: 'unexpected', message};
}

export function exitCodeOf(err: unknown): number {
  return describeFailure(err).exitCode;
}

/**
 * One line for the user, its control and invisible characters escaped. oclif's parse errors span several ("Parsing --port" then
 * "Expected an integer ≥ 0 but received: -5"); they are joined, minus oclif's help hints.
 * Argument values are not repeated: a key typed without its flag name must not reach
 * the terminal's scrollback, a log, or the error log that `diagnostics` prints.
 */
export function errorLine(err: unknown): string {
  const text = withoutChoiceValue(err instanceof Error ? err.message : String(err));
  const lines = text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l.length > 0 && !/^(See more help|Note: |Alternatively, )/.test(l))
    .map(withoutArgumentValues);
  if (lines.length === 0) return 'unknown error';
  // a file name or name from the bucket that reached a message unescaped still cannot drive the terminal
  return escapeInvisible(lines.reduce((line, next) => `${line}${line.endsWith(':') ? ' ' : ': '}${next}`));
}

/** oclif's parse messages that quote what was typed, rewritten to name only the flag or position. */
function withoutArgumentValues(line: string): string {
  const unexpected = /^Unexpected arguments?: /.exec(line);
  if (unexpected) {
    return unexpectedArguments(line.startsWith('Unexpected arguments') ? 2 : 1);
  }
  if (/^Nonexistent flags?: /.test(line)) return shownUnknownFlags(line);
  return line.replace(/(but received: )(.*)$/, (_m, lead: string, value: string) => lead + (value.length <= 40 && !holdsKeyShaped(value) ? value : shownValue(value, 40)));
}

/**
 * oclif's error for a flag with fixed choices quotes the value inside the flag
 * ("Expected --lock-mode=VALUE to be one of: …"), whole, newlines and all: rewritten to
 * name the flag, then the value as other messages show it (a key not at all).
 */
function withoutChoiceValue(text: string): string {
  return text.replace(/Expected (--[\w-]+)=([\s\S]*?) to be one of: ([^\n]*)/, (_m, flag: string, value: string, choices: string) => `Expected ${flag} to be one of: ${choices}, got ${shownValue(value, 40)}`);
}

/** With DEBUG: the plain cause a BackupError keeps (already scrubbed), e.g. what an unexpected error said. */
function causeLine(err: Error): string {
  const cause = (err as {cause?: unknown}).cause;
  if (cause === undefined) return '';
  return `cause: ${cause instanceof Error ? (cause.stack ?? cause.message) : JSON.stringify(cause)}\n`;
}

/** The stack without its first line(s): the message may hold what oclif quoted from argv. */
function stackFrames(err: Error): string {
  const stack = err.stack ?? '';
  const at = stack.indexOf('\n    at ');
  return `stack of ${err.name}:${at >= 0 ? stack.slice(at) : ' (none)'}`;
}
