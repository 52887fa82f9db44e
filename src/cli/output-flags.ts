import {Flags} from '@oclif/core';
import {integerFlag} from './integer-flag.js';
import {progressMode, type ProgressMode} from './progress.js';

/** How much a transfer command says on stderr: progress, notes, details. */
export const outputFlags = {
  quiet: Flags.boolean({char: 'q', description: 'print only the result (the id, or JSON): no progress, no notes', default: false}),
  verbose: Flags.boolean({char: 'v', description: 'also a line per part, retry and re-authorization', default: false}),
  progress: Flags.string({
    description: 'auto: a bar on a terminal, a line every --progress-interval seconds when stderr is a file, none on a pipe; bar; log; none',
    options: ['auto', 'bar', 'log', 'none'],
    default: 'auto',
  }),
  'no-progress': Flags.boolean({description: 'no progress display (same as --progress=none)', default: false}),
  'progress-interval': integerFlag({description: 'seconds between progress lines with --progress=log', default: 10, min: 1}),
};

export interface OutputChoice {
  mode: ProgressMode;
  intervalMs: number;
  quiet: boolean;
  verbose: boolean;
}

export function outputChoice(flags: {quiet: boolean; verbose: boolean; progress: string; 'no-progress': boolean; 'progress-interval': number}, json: boolean): OutputChoice {
  return {
    mode: progressMode(flags['no-progress'] ? 'none' : flags.progress, {quiet: flags.quiet, json}),
    intervalMs: flags['progress-interval'] * 1000,
    quiet: flags.quiet || json,
    verbose: flags.verbose && !flags.quiet,
  };
}
