import {profileCommandHint, shellWord} from '../command-hint.js';
import {shownEndpoint} from '../redact.js';
import {DEFAULT_ENDPOINT, type ResolvedProfile} from '../profiles/types.js';

/**
 * The `profile add PROFILE …` that names the location `at` (its bucket, prefix and
 * endpoint; the key ID and key are asked for): what reaches a location that no saved
 * profile names, such as the old or the new prefix of a move. Repeats the --config the
 * profiles file came from. PROFILE is the user's to choose.
 */
export function profileOnHint(cli: string | undefined, at: Pick<ResolvedProfile, 'bucket' | 'prefix' | 'endpoint'>, configFlag?: string): string {
  const endpoint = at.endpoint === DEFAULT_ENDPOINT ? '' : ` --endpoint ${shellWord(shownEndpoint(at.endpoint))}`;
  return `"${profileCommandHint(cli, `add PROFILE --bucket ${shellWord(at.bucket)} --prefix ${shellWord(at.prefix)}${endpoint}`, configFlag)}" (it asks for the key ID and key on a terminal; else add --key-id and --application-key)`;
}
