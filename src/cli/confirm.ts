import {askYesNo} from './ask.js';

/** A yes/no question, default no (Ctrl-C: an 'aborted' error, exit 130). Kept for callers written against it. */
export function confirm(question: string): Promise<boolean> {
  return askYesNo(question.replace(/\s*\[y\/N\]\s*$/i, ''));
}
