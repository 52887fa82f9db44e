import type {z} from 'zod';
import {editDistance} from '../edit-distance.js';
import {plural} from '../plural.js';
import {quoteValue, shownEndpoint, shownValue} from '../redact.js';
import {ALL_PROFILE_FIELDS, FIELD_EXPECTATIONS, GROUP_EXPECTATIONS, PROFILE_NAME_EXPECTATION, SECRET_FIELDS, type ProfileField} from './schema.js';
import {parseSecretRef, refHidesKey} from './secrets.js';

/** Where an issue is: the text that starts its message, and a line to order issues by. */
export type IssueLocator = (path: ReadonlyArray<PropertyKey>) => {label: string; line?: number};

type Issue = z.core.$ZodIssue;

/**
 * Turns zod issues into the one line a user sees: `<where>: expected <what>, got <value>
 * (<reason>)`. The first problem in file order is reported; the others are counted so the
 * user knows the fix is not the last one.
 */
export function describeIssues(issues: readonly Issue[], input: unknown, locate: IssueLocator): string {
  const problems = issues.flatMap((issue) => describeIssue(issue, input, locate));
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const more = problems.length - 1;
  return problems[0].text + (more > 0 ? ` (and ${more} more ${plural(more, 'problem')})` : '');
}

function describeIssue(issue: Issue, input: unknown, locate: IssueLocator): Array<{text: string; line?: number}> {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const where = locate([...issue.path, key]);
      return {line: where.line, text: `${where.label}: unknown field${suggestion(key, issue.path)}; expected ${knownFields(issue.path)}`};
    });
  }
  const where = locate(issue.path);
  const value = valueAt(input, issue.path);
  const isName = issue.code === 'custom' && (issue.params as {about?: string} | undefined)?.about === 'name';
  const expected = isName ? PROFILE_NAME_EXPECTATION : expectationFor(issue.path);
  if (value === undefined) return [{line: where.line, text: `${where.label}: missing, expected ${expected}`}];
  // a mapping of the right shape that is wrong as a whole (a retention policy without a rule): the reason alone says it
  if (issue.code === 'custom' && !isName && typeof value === 'object' && value !== null && !Array.isArray(value)) return [{line: where.line, text: `${where.label}: ${issue.message}`}];
  const shown = isName ? shownValue(String(issue.path[issue.path.length - 1])) : showValue(value, issue.path);
  const reason = issue.code === 'custom' && !isName ? ` (${issue.message})` : quotingHint(issue, value);
  return [{line: where.line, text: `${where.label}: expected ${expected}, got ${shown}${reason}`}];
}

/** `keyId: 000123` is the number 123 to YAML: say how to keep it as written. */
function quotingHint(issue: Issue, value: unknown): string {
  const wantedText = issue.code === 'invalid_type' && issue.expected === 'string';
  return wantedText && (typeof value === 'number' || typeof value === 'boolean') ? ' (YAML read it as a value, not text: put it in quotes)' : '';
}

/** What belongs at a path of the profiles file, or of one profile (flag input). */
function expectationFor(path: ReadonlyArray<PropertyKey>): string {
  const last = path[path.length - 1];
  const group = groupOf(path.slice(0, -1));
  if (group && typeof last === 'string' && last in group.fields) return group.fields[last];
  // a field sits at depth 1 (flag input) or 3 (profiles.NAME.field); depth 2 is a profile name
  if (typeof last === 'string' && last in GROUP_EXPECTATIONS && path.length !== 2) return GROUP_EXPECTATIONS[last].self;
  if (typeof last === 'string' && last in FIELD_EXPECTATIONS && path.length !== 2) return FIELD_EXPECTATIONS[last as ProfileField];
  if (path.length === 0) return 'a mapping with a "profiles:" section';
  if (path.length === 1) return 'a mapping of profile names to profiles';
  return `a mapping of profile fields (${ALL_PROFILE_FIELDS.join(', ')})`;
}

/** The group (e.g. bandwidth) a path is, when it is one: at depth 1 (flag input) or 3 (in the file). */
function groupOf(path: ReadonlyArray<PropertyKey>): (typeof GROUP_EXPECTATIONS)[string] | undefined {
  const last = path[path.length - 1];
  return typeof last === 'string' && (path.length === 1 || path.length === 3) ? GROUP_EXPECTATIONS[last] : undefined;
}

function fieldsAt(path: ReadonlyArray<PropertyKey>): readonly string[] {
  const group = groupOf(path);
  return group ? Object.keys(group.fields) : ALL_PROFILE_FIELDS;
}

function knownFields(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '"profiles" and "default"' : `one of ${fieldsAt(path).join(', ')}`;
}

/** A near miss ("buckt") gets a hint; field names are short, so edit distance 2 is plenty. */
function suggestion(key: string, path: ReadonlyArray<PropertyKey>): string {
  const known: readonly string[] = path.length === 0 ? ['profiles', 'default'] : fieldsAt(path);
  const best = known.find((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  return best ? ` (did you mean "${best}"?)` : '';
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = input;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[step];
  }
  return value;
}

/**
 * The offending value as a message shows it. Never the value of a secret field (only
 * what kind of value it is: a mistyped key is still most of a key), never a whole file that is not a profiles file (a key file or
 * /etc/passwd given as --config), never a key-shaped value in any field, never an endpoint's credentials or query, and long values shortened.
 */
function showValue(value: unknown, path: ReadonlyArray<PropertyKey>): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (isSecretValue(value, path) || path.length === 0) return typeof value === 'string' ? 'text (not shown)' : `a ${typeof value} (not shown)`;
  // a key put in the wrong field (`encryption: KEY` for encryptionKey) is a key all the same
  if (typeof value === 'string') return shownValue(path[path.length - 1] === 'endpoint' ? shownEndpoint(value) : value);
  const text = String(value);
  return text.length <= 64 ? text : quoteValue(text);
}

/** A value at a secret field (applicationKey, encryptionKey) that is not an env:/file: reference, or one that may hold the key itself. */
function isSecretValue(value: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  const field = path[path.length - 1];
  return (SECRET_FIELDS as readonly PropertyKey[]).includes(field) && !(typeof value === 'string' && parseSecretRef(value).kind !== 'inline' && !refHidesKey(value));
}

/** A path into the file as messages show it (`profiles.home.bucket`), long names shortened. */
export function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.map((step) => (String(step).length > 64 ? quoteValue(String(step)) : String(step))).join('.');
}
