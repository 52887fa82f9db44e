import type {SupersededUpload} from '../backend.js';
import {count} from '../plural.js';
import {humanSize} from './display.js';

/** Why an earlier attempt's parts are of no use to this upload. */
function why(s: SupersededUpload): string {
  switch (s.why) {
    case 'partSize': return `they were uploaded with part size ${humanSize(s.partSize)}, which cannot lay out this file`;
    case 'content': return 'they hold another content (the file changed since)';
    case 'info': return 'they were uploaded with other file info (the file was modified since, or the backup was given another id or date)';
    case 'key': return 'they were uploaded with another SSE-C key';
    case 'keyUnrecorded': return 'they were uploaded by an earlier version of this tool, which kept no record of their SSE-C key to tell it is the same key';
    case 'encryption': return 'they were uploaded with another encryption';
  }
}

/**
 * The line of an interrupted upload that this one could not continue, as done (`would`:
 * as a dry run would do it): its stored parts cancelled, or what remains.
 */
export function supersededLine(s: SupersededUpload, o: {would?: boolean} = {}): string {
  const what = `the interrupted upload's ${count(s.parts, 'stored part')} (${humanSize(s.bytes)}) of ${s.key}: ${why(s)}, so this upload cannot use them`;
  if (o.would) return `Would cancel ${what} (once the archive is stored)`;
  return s.remains ? `could not cancel ${what}; ${s.remains}` : `cancelled ${what}`;
}
