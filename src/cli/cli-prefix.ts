import type {Config} from '@oclif/core';
import {commandHint} from '../command-hint.js';

/** What runs the `b2` topic in this process: "backup-b2 b2", or "<host> b2" inside a host (for commandHint). */
export function cliPrefix(config: Pick<Config, 'bin'>): string {
  return `${config.bin} b2`;
}

/** One of the plugin's commands as this process's user types it ("<bin> b2 WORDS"), for a fix hint. */
export function cliCommand(config: Pick<Config, 'bin'>, words: string): string {
  return commandHint(cliPrefix(config), words);
}
