import {createInterface} from 'node:readline/promises';
import {BackupError} from '../errors.js';
import {REQUIRED_FIELDS, type ProfileField, type ProfileInput} from './schema.js';
import {flagLabel} from './flags.js';

const QUESTIONS: Partial<Record<ProfileField, string>> = {
  keyId: 'Application key ID: ',
  applicationKey: 'Application key (input hidden): ',
  bucket: 'Bucket name: ',
};

/**
 * Fills the required fields the flags did not give: asked for on a terminal (the key
 * without echo), an error otherwise, since a script waiting on a prompt would hang.
 */
export async function askForMissing(input: ProfileInput, streams = {stdin: process.stdin, stderr: process.stderr}): Promise<ProfileInput> {
  const missing = REQUIRED_FIELDS.filter((f) => input[f] === undefined);
  if (missing.length === 0) return input;
  if (!streams.stdin.isTTY) {
    throw new BackupError('config', `missing ${missing.map(flagLabel).join(', ')}: give ${missing.length === 1 ? 'it' : 'them'} as flags (no terminal to ask on)`);
  }
  const filled = {...input};
  for (const field of missing) {
    filled[field] = field === 'applicationKey' ? await askHidden(QUESTIONS[field]!, streams) : await ask(QUESTIONS[field]!, streams);
  }
  return filled;
}

async function ask(question: string, {stdin, stderr}: {stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream}): Promise<string> {
  const rl = createInterface({input: stdin, output: stderr, terminal: true});
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** Reads one line in raw mode without echoing it; Ctrl-C aborts, backspace edits. */
function askHidden(question: string, {stdin, stderr}: {stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream}): Promise<string> {
  stdin.setRawMode(true); // before the question, so nothing typed after it is ever echoed
  stderr.write(question);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (outcome: () => void): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(() => resolve(value.trim()));
        if (ch === '\u0003' || (ch === '\u0004' && value === '')) return finish(() => reject(new BackupError('aborted', 'cancelled at the prompt; nothing was saved')));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
