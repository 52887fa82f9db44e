import confirm from '@inquirer/confirm';
import input from '@inquirer/input';
import password from '@inquirer/password';
import {BackupError} from '../errors.js';

/**
 * Every question the CLI asks goes through here: on stderr (stdout stays for results),
 * edited by a real line editor (arrow keys and other escape sequences never end up in
 * the answer), and Ctrl-C at any prompt ends the command as an interruption (exit 130).
 */
const streams = () => ({input: process.stdin, output: process.stderr});

export async function askText(message: string, opts: {default?: string} = {}): Promise<string> {
  return (await cancellable(input({message, default: opts.default}, streams()))).trim();
}

/** The answer is never echoed, not even as a mask. */
export async function askSecret(message: string): Promise<string> {
  return (await cancellable(password({message, mask: false}, streams()))).trim();
}

export function askYesNo(message: string): Promise<boolean> {
  return cancellable(confirm({message, default: false}, streams()));
}

async function cancellable<T>(prompt: Promise<T>): Promise<T> {
  try {
    return await prompt;
  } catch (err) {
    if ((err as Error)?.name === 'ExitPromptError') throw new BackupError('aborted', 'cancelled at the prompt; nothing was changed');
    throw err;
  }
}
