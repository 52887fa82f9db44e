import {Errors, type Hook} from '@oclif/core';
import {editDistance} from '../edit-distance.js';

/**
 * A mistyped `b2` command: one line, with the command written as it is typed (spaces, not
 * oclif's colons) and the nearest command suggested; exit 2. Ids outside the `b2` topic
 * are the host's business: they get oclif's default answer.
 */
const hook: Hook<'command_not_found'> = async function ({id}) {
  const typed = id.split(':');
  if (typed[0] !== 'b2') throw new Errors.CLIError(`command ${typed.join(' ')} not found`, {exit: 2});
  const suggestion = nearestCommand(typed, this.config.commandIDs);
  const bin = this.config.bin;
  const hint = suggestion ? `did you mean "${bin} ${suggestion.join(' ')}"? ` : '';
  process.stderr.write(`Error: "${bin} ${typed.join(' ')}" is not a command; ${hint}run "${bin} b2 --help" to see the commands\n`);
  process.exitCode = 2;
};

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
