import {Errors, type Hook} from '@oclif/core';
import {editDistance} from '../edit-distance.js';
import {recordError} from '../cli/error-log.js';
import {unexpectedArguments} from '../cli/unexpected-arguments.js';

/**
 * A mistyped `b2` command: one line, with the command written as it is typed (spaces, not
 * oclif's colons) and the nearest command suggested; exit 2. Ids outside the `b2` topic
 * are the host's business: they get oclif's default answer.
 *
 * oclif reads the words after a command that takes no arguments as more of its name
 * (`b2 list X` looks for a command "b2 list X"): that is a stray argument, reported as
 * the parser reports one. Typed values are never repeated, in either case.
 */
const hook: Hook<'command_not_found'> = async function ({id}) {
  const typed = id.split(':');
  if (typed[0] !== 'b2') throw new Errors.CLIError(`command ${typed.join(' ')} not found`, {exit: 2});
  const commandIds = this.config.commandIDs;
  const bin = this.config.bin;
  process.exitCode = 2;
  const command = typedCommand(typed, commandIds);
  if (command) {
    const message = unexpectedArguments(typed.length - command.length);
    process.stderr.write(`Error: ${message}\n`);
    await recordError(this.config.cacheDir, {time: new Date().toISOString(), command: command.join(':'), kind: 'usage', exitCode: 2, message});
    return;
  }
  const suggestion = nearestCommand(typed, commandIds);
  const hint = suggestion ? `did you mean "${bin} ${suggestion.join(' ')}"? ` : '';
  process.stderr.write(`Error: "${bin} ${commandWords(typed, commandIds).join(' ')}" is not a command; ${hint}run "${bin} b2 --help" to see the commands\n`);
};

/** The command the first words typed name, when more words follow it. */
function typedCommand(typed: string[], commandIds: string[]): string[] | undefined {
  for (let n = typed.length - 1; n > 1; n--) if (commandIds.includes(typed.slice(0, n).join(':'))) return typed.slice(0, n);
  return undefined;
}

/**
 * The typed words as the message shows them: the topics that exist, then the first word
 * that matches nothing when it looks like a command name (else "…"), then "…" for the
 * rest: anything after the mistyped word may be a value, a key even.
 */
function commandWords(typed: string[], commandIds: string[]): string[] {
  const known = (n: number) => commandIds.some((id) => `${id}:`.startsWith(`${typed.slice(0, n).join(':')}:`));
  let n = 1;
  while (n < typed.length && known(n + 1)) n++;
  if (n === typed.length) return typed;
  const mistyped = /^[a-z][a-z-]{0,23}$/.test(typed[n]) ? typed[n] : '…';
  return [...typed.slice(0, n), mistyped, ...(typed.length > n + 1 && mistyped !== '…' ? ['…'] : [])];
}

/** The command whose words are closest to the first words typed (the rest may be arguments). */
export function nearestCommand(typed: string[], commandIds: string[]): string[] | undefined {
  let best: {words: string[]; distance: number} | undefined;
  for (const id of commandIds) {
    const words = id.split(':');
    if (words[0] !== 'b2' || typed.length < words.length) continue;
    const distance = editDistance(typed.slice(0, words.length).join(' '), words.join(' '));
    if (distance <= Math.max(2, Math.floor(words.join(' ').length / 4)) && (!best || distance < best.distance)) best = {words, distance};
  }
  return best?.words;
}

export default hook;
