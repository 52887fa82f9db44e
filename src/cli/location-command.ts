import type {Config} from '@oclif/core';
import type {TransferEventListener} from '../b2/index.js';
import {BaseCommand, profileFlag} from './base-command.js';
import {withInterrupt, type InterruptOptions} from './interrupt.js';
import {commandHint, locationFlags} from '../command-hint.js';
import {cliPrefix} from './cli-prefix.js';
import {openLocation, type OpenedLocation, type WriterNames} from './open-backend.js';
import {timing} from '../timing.js';
import type {TransferOverrides} from './transfer-flags.js';
import {verboseListener} from './verbose.js';

/** A command of this plugin acting on the location a command opened, for a fix hint (OpenedLocation.hint). */
export type LocationHint = (words: string) => string;

interface LocationOptions extends Omit<InterruptOptions, 'interrupted'> {
  overrides?: TransferOverrides;
  /** A command that writes to the location: no move of it runs meanwhile (loadForWriting), and one running refuses it. */
  writes?: WriterNames;
  /** -v: a line per part, retry and re-authorization on stderr. */
  verbose?: boolean;
  /** InterruptOptions.interrupted, with the hint writer of the location (its profile named). */
  interrupted?: (err: unknown, hint: LocationHint) => string;
}

/**
 * A command that works on one backup location (profile → B2 → catalog). It opens the
 * location, hands the work a signal that Ctrl-C (SIGTERM, SIGHUP) aborts, and always
 * closes what it opened (the embedded emulator included). Unless the command says what
 * an interruption leaves (`interrupted`), it is one that changes nothing.
 */
export abstract class LocationCommand extends BaseCommand {
  static override baseFlags = {...BaseCommand.baseFlags, profile: profileFlag};

  protected withLocation<T>(
    flags: {config?: string; profile?: string},
    work: (location: OpenedLocation, signal: AbortSignal) => Promise<T>,
    opts: LocationOptions = {},
  ): Promise<T> {
    // the catalog's warnings reach stderr with --json too, and so do -v's lines: the user asked for them
    const warn = this.warnLine;
    // a command that changes nothing need not say what an interruption left
    const interrupted = opts.interrupted ?? (() => `${this.id?.split(':').pop() ?? 'command'} interrupted; nothing was changed`);
    return withOpenLocation(this.config, flags, work, {...opts, interrupted, warn, onEvent: opts.verbose ? verboseListener(this.warnLine) : undefined});
  }
}

/** Opens the location, runs `work` with a signal Ctrl-C (SIGTERM, SIGHUP) aborts, and always closes what it opened. */
export function withOpenLocation<T>(
  config: Config,
  flags: {config?: string; profile?: string},
  work: (location: OpenedLocation, signal: AbortSignal) => Promise<T>,
  opts: Omit<LocationOptions, 'verbose'> & {warn: (line: string) => void; onEvent?: TransferEventListener},
): Promise<T> {
  timing('command started');
  let opened: OpenedLocation | undefined;
  // before the profile is loaded, what the user typed names it (an interrupted connect changed nothing anyway)
  const typed: LocationHint = (words) => commandHint(cliPrefix(config), words, flags.profile === undefined ? undefined : locationFlags(flags.profile, flags.config));
  const {interrupted} = opts;
  return withInterrupt(async (signal) => {
    const location = await openLocation(config, flags, {warn: opts.warn, signal, overrides: opts.overrides, onEvent: opts.onEvent, writes: opts.writes});
    opened = location;
    try {
      const result = await work(location, signal);
      timing('work done');
      return result;
    } finally {
      await location.close();
      timing('closed');
    }
  }, {...opts, interrupted: interrupted && ((err) => interrupted(err, opened?.hint ?? typed))});
}
