/**
 * What a command says about arguments it does not take, from oclif's parser (base-command.ts)
 * or from the command_not_found hook (`b2 list X`, which oclif reads as a command "list X").
 * The values are never repeated: a key typed without its flag name must not reach the
 * terminal's scrollback, a log, or the error log that `diagnostics` prints.
 */
export function unexpectedArguments(count: number): string {
  return `unexpected argument${count > 1 ? 's' : ''} (a value given without its flag name?); the values are not repeated here, see --help for the flags`;
}
