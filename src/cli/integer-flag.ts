import {Errors, Flags} from '@oclif/core';

/**
 * Every whole-number flag (oclif's Flags.integer, with its min/max and messages). oclif
 * reads "99999999999999999999" as the nearest double, 100000000000000000000, which then
 * passes `min` and reaches a later check that quotes the rounded number: a number that
 * is not exact is refused here, quoting what was typed.
 */
export const integerFlag = Flags.custom<number, {min?: number; max?: number}>({
  async parse(input, _ctx, opts) {
    if (!/^-?\d+$/.test(input)) throw new Errors.CLIError(`Expected an integer but received: ${input}`);
    const n = Number(input) + 0; // + 0: "-0" is 0
    // beyond the safe integers a double is no longer the number typed
    const min = Math.max(opts.min ?? -Infinity, Number.MIN_SAFE_INTEGER);
    const max = Math.min(opts.max ?? Infinity, Number.MAX_SAFE_INTEGER);
    if (n < min) throw new Errors.CLIError(`Expected an integer greater than or equal to ${min} but received: ${input}`);
    if (n > max) throw new Errors.CLIError(`Expected an integer less than or equal to ${max} but received: ${input}`);
    return n;
  },
});
