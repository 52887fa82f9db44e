import {realpath, stat} from 'node:fs/promises';
import {dirname} from 'node:path';
import {isMap, LineCounter, parseDocument, type Document} from 'yaml';
import {removeStaleTempFiles, writeFileAtomic} from '../atomic-file.js';
import {commandHint, profileCommandHint} from '../command-hint.js';
import {closest} from '../edit-distance.js';
import {BackupError} from '../errors.js';
import {withFileLock} from '../file-lock.js';
import {unwritable} from '../io-errors.js';
import {makeDirs} from '../make-dirs.js';
import {readSmallFile} from '../small-file.js';
import {holdsKeyShaped, quoteValue, shownValue} from '../redact.js';
import {LOCAL_PROFILE, LOCAL_PROFILE_NAME} from './builtin.js';
import {describeIssues, pathText, type IssueLocator} from './issues.js';
import {fastProfileEntry, fastProfileFields, fastProfilesFile} from './fast-validate.js';
import {firstDuplicateKey, lineOfPath} from './positions.js';
import {profilesFilePath} from './location.js';
import {
  PROFILE_FIELDS,
  PROFILE_NAME_EXPECTATION,
  REQUIRED_FIELDS,
  SECRET_FIELDS,
  normalizePrefix,
  profileNameProblem,
  profileSchemas,
  type ProfileEntry,
  type ProfileField,
  type ProfileInput,
} from './schema.js';
import {parseSecretRef, resolveSecret} from './secrets.js';
import {DEFAULT_LOCK_MODE} from '../backups/lock.js';
import {DEFAULT_CONCURRENCY, DEFAULT_ENDPOINT, EMBEDDED_ENDPOINT, customerKeyProblem, type Encryption, type ResolvedProfile} from './types.js';

export type ProfileSource = 'file' | 'builtin';

/** A validated profile as stored (secrets still as written: inline, env:NAME or file:PATH). */
export interface StoredProfile {
  name: string;
  source: ProfileSource;
  entry: ProfileEntry;
}

/** How input fields are named in messages: flag names for commands (`--part-size`). */
export type FieldLabel = (field: ProfileField) => string;

const FILE_MODE = 0o600;
/**
 * A profiles file is a few hundred bytes per profile; past this it is not one (a 50 MB
 * file would take minutes to parse), so it is refused before parsing.
 */
export const MAX_PROFILES_FILE_BYTES = 1024 * 1024;
/** Anchors and aliases may share values between profiles; an alias bomb stops here. */
const MAX_ALIAS_COUNT = 100;
/** What fix hints about the profiles file name: the command prefix (commandHint) and the --config the file came from. */
interface ProfileHints {
  cli: string | undefined;
  configFlag: string | undefined;
}

/** `profile WORDS` on this profiles file (profileCommandHint). */
const profileHint = (hints: ProfileHints, words: string) => profileCommandHint(hints.cli, words, hints.configFlag);

/** The comment a new profiles file starts with; `cli` names the real command (commandHint). */
const newFileHeader = (cli: string | undefined) =>
  ` Backblaze B2 backup profiles (see "${commandHint(cli, 'profile --help')}").\n Keep this file private (mode 0600): it may hold application keys.`;

/**
 * The profiles file: load and validate it (errors name file, line, field and what was
 * expected), resolve a profile for use, and edit it through the yaml Document so that a
 * user's comments and ordering survive. Edits are validated as a whole file before they
 * replace the in-memory state, and save() swaps the file atomically with mode 0600,
 * under a lock, applying the edits to the file as it is then (so two commands editing
 * at once both get their change in).
 */
export class ProfileStore {
  private constructor(
    /** Absolute path of the profiles file (it need not exist yet). */
    readonly path: string,
    private readonly env: NodeJS.ProcessEnv,
    /** The command prefix fix hints name (commandHint), and the --config they repeat. */
    private readonly hints: ProfileHints,
    /** The file's content when loaded; undefined when there was no file. */
    private original: string | undefined,
    private state: ParsedFile,
  ) {}

  /** The edits made since load, to apply again if the file changed on disk before save(). */
  private edits: Array<() => void> = [];
  /** Fields set by this run's add/update, by profile, with the flag each came from: messages about them name the flag, not a line of a file not yet written. */
  private readonly givenBy = new Map<string, Map<string, string>>();

  /**
   * The store a command works on: `--config` (or env B2_BACKUP_CONFIG), else
   * `<configDir>/profiles.yaml`. A file named explicitly must exist (a typo in the path
   * must not look like an empty file), unless the command creates it (`create`).
   */
  static async open(opts: {flag?: string; configDir: string; env?: NodeJS.ProcessEnv; create?: boolean; cli?: string}): Promise<ProfileStore> {
    const store = await ProfileStore.load(profilesFilePath(opts), {env: opts.env, cli: opts.cli, configFlag: opts.flag});
    const chosen = Boolean(opts.flag || (opts.env ?? process.env).B2_BACKUP_CONFIG); // oclif fills the flag from the variable too
    if (!store.exists && chosen && !opts.create) {
      throw new BackupError('config', `${store.path} (given by --config or B2_BACKUP_CONFIG) does not exist; fix the path, or create the file with "${profileCommandHint(opts.cli, 'add NAME', store.path)}"`);
    }
    return store;
  }

  /** False until the file is first saved. */
  get exists(): boolean {
    return this.original !== undefined;
  }

  /** The profile chosen by "b2 profile default", if any. */
  get defaultProfile(): string | undefined {
    return this.state.defaultName;
  }

  /** `configFlag`: the --config (or B2_BACKUP_CONFIG) `path` came from, which fix hints repeat. */
  static async load(path: string, opts: {env?: NodeJS.ProcessEnv; cli?: string; configFlag?: string} = {}): Promise<ProfileStore> {
    await removeStaleTempFiles(await realpath(path).catch(() => path));
    const text = readProfilesFile(path);
    const hints = {cli: opts.cli, configFlag: opts.configFlag};
    const store = new ProfileStore(path, opts.env ?? process.env, hints, text, parseProfilesText(path, text ?? '', hints));
    if (text !== undefined) await store.refuseInlineKeyInSharedFile();
    return store;
  }

  /** Every profile: the file's in file order, then the built-in `local` unless the file overrides it. */
  list(): StoredProfile[] {
    const fromFile = Object.entries(this.state.profiles).map(([name, entry]) => ({name, source: 'file' as const, entry}));
    if (this.inFile(LOCAL_PROFILE_NAME)) return fromFile;
    return [...fromFile, {name: LOCAL_PROFILE_NAME, source: 'builtin', entry: {...LOCAL_PROFILE}}];
  }

  get(name: string): StoredProfile | undefined {
    return this.list().find((p) => p.name === name);
  }

  /**
   * The profile ready to connect. Without a name: env B2_PROFILE, else the file's only
   * profile, else (empty file) the built-in `local`; several profiles need a choice.
   * Env B2_APPLICATION_KEY_ID + B2_APPLICATION_KEY replace the key of a B2 profile (as in
   * the official B2 CLI), never of an embedded one, whose key the emulator provisions
   * (see envOverride()).
   * `envCredentials: false` resolves the key the profile itself holds (what add/update check).
   * `chooseWith`: how the command takes a profile name, for the hint when one must be chosen.
   */
  resolve(name?: string, opts: {envCredentials?: boolean; chooseWith?: string; givenBy?: string} = {}): ResolvedProfile {
    // an empty name given is a mistake to name (a script's unset variable), not "no name": it would act on the default
    const chosen = name === '' ? name : name || this.env.B2_PROFILE || this.defaultName(opts.chooseWith);
    // oclif hands B2_PROFILE over as --profile: a name equal to it may well come from there
    const givenBy = opts.givenBy ?? (chosen === this.env.B2_PROFILE ? 'the environment variable B2_PROFILE' : undefined);
    const stored = this.getOrThrow(chosen, {givenBy, addable: true});
    const {entry} = stored;
    const endpoint = entry.endpoint ?? DEFAULT_ENDPOINT;
    const override = this.envOverride(); // checked for every command, also those that do not use it
    const fromEnv = opts.envCredentials !== false && endpoint !== EMBEDDED_ENDPOINT && override;
    const credentials = fromEnv || {
      keyId: entry.keyId,
      applicationKey: this.secretOf(stored, 'applicationKey'),
    };
    const encryption = this.encryptionOf(stored);
    return {...resolvedProfile(stored.name, entry, credentials), profilesFile: this.path, ...(encryption ? {encryption} : {}), keyFrom: fromEnv ? 'env' : 'profile'};
  }

  /** Throws unless `add(name, …)` could succeed with valid input (checked before prompting for values). */
  assertAddable(name: string): void {
    if (profileNameProblem(name)) throw new BackupError('config', `profile name ${shownValue(name)}: expected ${PROFILE_NAME_EXPECTATION}`);
    if (this.inFile(name)) {
      throw new BackupError('config', `${this.locationOf(['profiles', name])}: a profile with this name already exists; change it with "${profileHint(this.hints, `update ${name}`)}" or remove it first`);
    }
  }

  /** Adds a profile (in memory; call save()). Input is validated first; label names its fields. */
  add(name: string, input: ProfileInput, label: FieldLabel = (f) => f): void {
    this.assertAddable(name);
    const given = PROFILE_FIELDS.filter((f) => input[f] !== undefined && !resetsToDefault(f, input[f]));
    validateInput(Object.fromEntries(given.map((f) => [f, input[f]])), label);
    this.noteGiven(name, given, input, label);
    const written = Object.fromEntries(given.map((f) => [f, asWritten(f, input[f]!)]));
    this.edit(() => this.add(name, input, label), (doc) => {
      if (!isMap(doc.get('profiles'))) doc.set('profiles', doc.createNode({}));
      doc.setIn(['profiles', name], doc.createNode(written));
    });
    this.envOverride();
  }

  /**
   * Changes the given fields of a profile in the file; an empty value removes an optional
   * field (back to its default). The merged profile is validated before anything changes.
   */
  update(name: string, changes: ProfileInput, label: FieldLabel = (f) => f): void {
    this.requireInFile(name, 'update');
    const given = PROFILE_FIELDS.filter((f) => changes[f] !== undefined);
    if (given.length === 0) throw new BackupError('config', `nothing to update for profile "${name}": give at least one of ${PROFILE_FIELDS.map(label).join(', ')}`);
    const current = this.state.raw[name] as ProfileInput;
    const merged: ProfileInput = {...current};
    for (const f of given) {
      if (resetsToDefault(f, changes[f])) delete merged[f];
      else merged[f] = changes[f];
    }
    validateInput(merged, (f) => (given.includes(f) ? label(f) : `profiles.${name}.${f}`));
    this.noteGiven(name, given.filter((f) => merged[f] !== undefined), merged, label);
    this.edit(() => this.update(name, changes, label), (doc) => {
      for (const f of given) {
        if (merged[f] === undefined) doc.deleteIn(['profiles', name, f]);
        else doc.setIn(['profiles', name, f], asWritten(f, merged[f]!));
      }
    });
    this.envOverride();
  }

  remove(name: string): void {
    this.requireInFile(name, 'remove');
    this.edit(() => this.remove(name), (doc) => {
      doc.deleteIn(['profiles', name]);
      if (this.state.defaultName === name) doc.delete('default');
    });
  }

  /** Makes `name` the profile used when none is chosen (in memory; call save()). */
  setDefault(name: string): void {
    this.getOrThrow(name, {addable: false});
    this.edit(() => this.setDefault(name), (doc) => doc.set('default', name));
  }

  /** Profiles that share name's bucket with an overlapping prefix: their backups would mix. */
  overlapWarnings(name: string): string[] {
    const me = this.getOrThrow(name);
    return this.list()
      .filter((other) => other.name !== name && sameBucket(me.entry, other.entry) && prefixesOverlap(me.entry.prefix ?? '', other.entry.prefix ?? ''))
      .map(
        (other) =>
          `profiles "${name}" and "${other.name}" both use bucket ${me.entry.bucket} with overlapping prefixes ` +
          `"${me.entry.prefix ?? ''}" and "${other.entry.prefix ?? ''}"; their backups would overwrite each other, give each its own prefix`,
      );
  }

  /**
   * Writes the edited file atomically (mode 0600) under a lock. If another command changed
   * the file since load, this command's edits are applied again to the file as it is now
   * (and validated again), so neither change is lost.
   */
  async save(): Promise<void> {
    const target = await realpath(this.path).catch(() => this.path); // keep a symlinked dotfile a symlink
    try {
      await makeDirs(dirname(target), {mode: 0o700});
      await withFileLock(target, async () => {
        await removeStaleTempFiles(target);
        const current = readProfilesFile(target);
        if (current !== this.original) this.reapplyEditsTo(current);
        await writeFileAtomic(target, this.state.text, {mode: FILE_MODE});
      });
    } catch (err) {
      throw unwritable(err, `write ${this.path}`); // a directory the user may not write: bad input, not a bug
    }
    this.original = this.state.text;
  }

  private reapplyEditsTo(current: string | undefined): void {
    const edits = this.edits;
    this.edits = [];
    this.original = current;
    this.state = parseProfilesText(this.path, current ?? '', this.hints);
    for (const again of edits) again();
  }

  /** Applies `change` to a copy of the document and validates the result; `again` redoes it on a newer file. */
  private edit(again: () => void, change: (doc: Document) => void): void {
    const doc = this.state.doc.clone();
    if (this.original === undefined && !doc.commentBefore) doc.commentBefore = newFileHeader(this.hints.cli);
    change(doc);
    this.state = parseProfilesText(this.path, doc.toString(), this.hints);
    this.edits.push(again);
  }

  private inFile(name: string): boolean {
    return Object.hasOwn(this.state.profiles, name);
  }

  /** The profile used when none is named; `chooseWith`: how the command names one (default: its --profile flag). */
  private defaultName(chooseWith = '--profile NAME'): string {
    if (this.state.defaultName) return this.state.defaultName;
    const names = Object.keys(this.state.profiles);
    if (names.length === 1) return names[0];
    if (names.length === 0) return LOCAL_PROFILE_NAME;
    throw new BackupError('config', `${this.path} has ${names.length} profiles (${someNames(names)}); choose one with ${chooseWith} or env B2_PROFILE, or set a default with "${profileHint(this.hints, 'default NAME')}"`);
  }

  /**
   * The named profile, or a config error listing the names there are, with the close name
   * meant ("did you mean") or else, when `addable`, the command that adds it. `givenBy`:
   * where the name came from when that is not the obvious argument (--to, B2_PROFILE).
   */
  getOrThrow(name: string, opts: {givenBy?: string; addable?: boolean} = {}): StoredProfile {
    const found = this.get(name);
    if (found) return found;
    const names = this.list().map((p) => p.name);
    const meant = closest(name, names);
    const fix = meant !== undefined
      ? `did you mean ${JSON.stringify(meant)}?`
      : opts.addable !== false && !profileNameProblem(name) ? addHint(name, this.hints) : 'choose one of them';
    const where = opts.givenBy ? ` (given by ${opts.givenBy}${opts.givenBy.includes('environment') ? ': unset it or change it' : ''})` : '';
    throw new BackupError('config', `no profile named ${shownValue(name)}${where} in ${this.path} (profiles: ${someNames(names)}); ${fix}`);
  }

  private requireInFile(name: string, verb: string): void {
    if (this.inFile(name)) return;
    if (name === LOCAL_PROFILE_NAME) {
      throw new BackupError('config', `profile "local" is built in and cannot be changed with ${verb}; define your own with "${profileHint(this.hints, 'add local')}"`);
    }
    this.getOrThrow(name, {addable: verb !== 'remove'});
  }

  /**
   * The key pair from env B2_APPLICATION_KEY_ID + B2_APPLICATION_KEY that replaces a B2
   * profile's key, or undefined. One of them alone is a half-set override (an error),
   * unless a profile in the file names that variable as its key (`env:B2_APPLICATION_KEY`):
   * then it is that profile's key, not half an override. Every command applies this rule,
   * add and update too (they check and store the profile's own key, but the file they
   * leave must work for the others).
   */
  envOverride(): {keyId: string; applicationKey: string} | undefined {
    const keyId = this.env.B2_APPLICATION_KEY_ID?.trim();
    const applicationKey = this.env.B2_APPLICATION_KEY?.trim();
    if (keyId && applicationKey) return {keyId, applicationKey};
    if (!keyId && !applicationKey) return undefined;
    const [set, unset] = keyId ? ['B2_APPLICATION_KEY_ID', 'B2_APPLICATION_KEY'] : ['B2_APPLICATION_KEY', 'B2_APPLICATION_KEY_ID'];
    if (this.profilesReferring(set).length > 0) return undefined;
    throw new BackupError(
      'config',
      `${set} is set but ${unset} is not: together they replace the key of every B2 profile; set both, or unset ${set} ` +
        `(for a profile's own key from the environment use another name, e.g. applicationKey: env:B2_HOME_KEY)`,
    );
  }

  /** The profiles in the file whose application or encryption key is `env:<variable>`. */
  private profilesReferring(variable: string): string[] {
    return Object.entries(this.state.profiles)
      .filter(([, entry]) => SECRET_FIELDS.some((f) => entry[f] !== undefined && `${entry[f]}` === `env:${variable}`))
      .map(([name]) => name);
  }

  private secretOf(stored: StoredProfile, field: 'applicationKey' | 'encryptionKey'): string {
    const result = resolveSecret(stored.entry[field] ?? '', {env: this.env, baseDir: dirname(this.path)});
    if ('value' in result) return result.value;
    throw new BackupError('config', `${this.locationOf(['profiles', stored.name, field])}: ${result.problem}`);
  }

  /** The profile's server-side encryption, its SSE-C key read and checked (the message never shows it). */
  private encryptionOf(stored: StoredProfile): Encryption | undefined {
    return entryEncryption(stored.entry, () => this.secretOf(stored, 'encryptionKey'), this.locationOf(['profiles', stored.name, 'encryptionKey']));
  }

  /**
   * `<file>:<line>: profiles.<name>.<field>`, the start of every message about one place in
   * the file; for a field this run's flags set, the flag (`--encryption-key`).
   */
  private locationOf(path: string[]): string {
    const flag = path[0] === 'profiles' && path.length === 3 ? this.givenBy.get(path[1])?.get(path[2]) : undefined;
    return flag ?? `${this.path}:${lineOfPath(this.state.doc, this.state.lines, path)}: ${path.join('.')}`;
  }

  /**
   * Remembers which flags set which fields, and checks now what can be checked without
   * reading anything: an inline SSE-C key (the file would otherwise keep a key no command
   * can use, even with --no-check). References (env:, file:) are read when used.
   */
  private noteGiven(name: string, given: ProfileField[], input: ProfileInput, label: FieldLabel): void {
    this.givenBy.set(name, new Map(given.map((f) => [f, label(f)])));
    const key = input.encryptionKey;
    if (!given.includes('encryptionKey') || typeof key !== 'string' || parseSecretRef(key).kind !== 'inline') return;
    const problem = customerKeyProblem(key);
    if (problem) throw new BackupError('config', `${label('encryptionKey')}: ${problem}`);
  }

  /** An inline key is only as private as the file: refuse to use one others can read. */
  private async refuseInlineKeyInSharedFile(): Promise<void> {
    if (process.platform === 'win32') return; // no POSIX modes; NTFS ACLs are the user's business
    const mode = (await stat(this.path)).mode & 0o777;
    if ((mode & 0o077) === 0) return;
    const inline = Object.entries(this.state.profiles).flatMap(([name, entry]) =>
      SECRET_FIELDS.filter((f) => entry[f] !== undefined && parseSecretRef(entry[f]).kind === 'inline').map((f) => [name, f] as const),
    )[0];
    if (!inline) return;
    throw new BackupError(
      'config',
      `${this.locationOf(['profiles', inline[0], inline[1]])}: an inline ${inline[1] === 'applicationKey' ? 'application key' : 'encryption key'} in a file other users can read ` +
        `(mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${this.path}, or use env:NAME or file:PATH`,
    );
  }
}

interface ParsedFile {
  text: string;
  doc: Document;
  lines: LineCounter;
  /** The validated, normalised profiles. */
  profiles: Record<string, ProfileEntry>;
  /** The profiles as written (before normalisation), for merging updates. */
  raw: Record<string, unknown>;
  /** `default:` of the file. */
  defaultName?: string;
}

/** Parses and validates the text of the profiles file; every error names path:line and the field. */
function parseProfilesText(path: string, text: string, hints: ProfileHints): ParsedFile {
  const lines = new LineCounter();
  // yaml's own uniqueKeys check compares every key with every other (quadratic): ours is linear
  const doc = parseDocument(text, {lineCounter: lines, prettyErrors: true, uniqueKeys: false});
  const syntax = doc.errors[0];
  if (syntax) {
    const lastLine = Math.max(1, text.replace(/\n$/, '').split('\n').length); // an error at end of file is on the last line
    const line = Math.min(syntax.linePos?.[0].line ?? 1, lastLine);
    throw new BackupError('config', `${path}:${line}: invalid YAML: ${yamlReason(syntax.message)}`);
  }
  const duplicate = firstDuplicateKey(doc);
  if (duplicate !== undefined) throw new BackupError('config', `${path}:${lines.linePos(duplicate).line}: invalid YAML: Map keys must be unique`);
  let data: unknown;
  try {
    data = doc.toJS({maxAliasCount: MAX_ALIAS_COUNT}) ?? {};
  } catch (err) {
    throw new BackupError('config', `${path}: invalid YAML: ${yamlReason((err as Error).message)}`);
  }
  const valid = fastProfilesFile(data) ?? validateWith(profileSchemas().profilesFileSchema, data, (issuePath) => {
    const line = lineOfPath(doc, lines, issuePath);
    return {line, label: issuePath.length === 0 ? `${path}:${line}` : `${path}:${line}: ${pathText(issuePath)}`};
  });
  const raw = ((data as {profiles?: Record<string, unknown> | null}).profiles ?? {}) as Record<string, unknown>;
  const profiles = valid.profiles ?? {};
  const defaultName = valid.default;
  if (defaultName !== undefined && !Object.hasOwn(profiles, defaultName) && defaultName !== LOCAL_PROFILE_NAME) {
    const known = [...Object.keys(profiles), LOCAL_PROFILE_NAME].join(', ');
    throw new BackupError('config', `${path}:${lineOfPath(doc, lines, ['default'])}: default: no profile named ${JSON.stringify(defaultName)} (profiles: ${known}); run "${profileHint(hints, 'default NAME')}" or remove the line`);
  }
  return {text, doc, lines, profiles, raw, defaultName};
}

/** Names for a message: the first ten, then how many more. */
function someNames(names: string[]): string {
  const shown = names.slice(0, 10).map((n) => (n.length > 64 ? quoteValue(n) : n));
  return names.length > 10 ? `${shown.join(', ')} and ${names.length - 10} more` : shown.join(', ');
}

/** An entry's server-side encryption, its SSE-C key read (readKey) and checked; `where` starts a message, which never shows the key. */
export function entryEncryption(entry: ProfileEntry, readKey: () => string, where: string): Encryption | undefined {
  if (entry.encryption !== 'SSE-C') return entry.encryption ? {mode: entry.encryption} : undefined;
  const key = readKey();
  const problem = customerKeyProblem(key);
  if (problem) throw new BackupError('config', `${where}: ${problem}`);
  return {mode: 'SSE-C', key};
}

/**
 * The YAML parser's reason without the file's text: some of its messages quote what they
 * choke on ("Unsupported YAML version …", "Unresolved alias …: NAME"), and the file may
 * be a key file or /etc/passwd given as --config by mistake.
 */
function yamlReason(message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return first.replace(/^(Unsupported YAML version|Unresolved tag|Plain value cannot start with reserved character|Unresolved alias[^:]*)\b.*$/, '$1');
}

/** A validated entry with its credentials resolved and the defaults applied. */
export function resolvedProfile(name: string, entry: ProfileEntry, credentials: {keyId: string; applicationKey: string}): ResolvedProfile {
  return {
    name,
    keyId: credentials.keyId,
    applicationKey: credentials.applicationKey,
    bucket: entry.bucket,
    prefix: entry.prefix ?? '',
    endpoint: entry.endpoint ?? DEFAULT_ENDPOINT,
    partSize: entry.partSize,
    concurrency: entry.concurrency ?? DEFAULT_CONCURRENCY,
    ...(entry.retention && {retention: entry.retention}),
    ...(entry.bandwidth ? {bandwidth: {...entry.bandwidth}} : {}),
    ...(entry.lock ? {lock: {...entry.lock, mode: entry.lock.mode ?? DEFAULT_LOCK_MODE}} : {}),
  };
}

/** Validates a profile given field by field (flags, prompts): errors name each field by label. */
export function validateInput(input: ProfileInput, label: FieldLabel): ProfileEntry {
  return fastProfileEntry(input) ?? validateWith(profileSchemas().profileEntrySchema, input, (path) => ({label: label(path[0] as ProfileField)}));
}

/**
 * Per-run overrides of some profile fields (`upload --concurrency 8`): checked by the
 * same rules, with the same messages, as the fields in the file. `label` names the
 * flag a field path came from.
 */
export function validateOverrides(input: Record<string, unknown>, label: (path: ReadonlyArray<PropertyKey>) => string): Partial<ProfileEntry> {
  return fastProfileFields(input) ?? validateWith(profileSchemas().profileFieldsSchema.partial(), input, (path) => ({label: label(path)}));
}

type Validated<T> = {success: true; data: T} | {success: false; error: {issues: Parameters<typeof describeIssues>[0]}};

/** The schema's answer for what the fast path (fast-validate.ts) left to it: the value, or the one-line config error. */
function validateWith<T>(schema: {safeParse(input: unknown): Validated<T>}, input: unknown, locate: IssueLocator): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new BackupError('config', describeIssues(parsed.error.issues, input, locate));
}

/** An empty value for an optional field means "no value": the default applies. */
function resetsToDefault(field: ProfileField, value: string | number | undefined): boolean {
  return value === '' && !REQUIRED_FIELDS.includes(field);
}

/** How a field is written to the file: as given, except the prefix, which is stored normalised. */
function asWritten(field: ProfileField, value: string | number): string | number {
  if (field === 'prefix' && typeof value === 'string') {
    const normalized = normalizePrefix(value);
    return 'prefix' in normalized ? normalized.prefix : value;
  }
  return value;
}

function sameBucket(a: ProfileEntry, b: ProfileEntry): boolean {
  return a.bucket === b.bucket && (a.endpoint ?? DEFAULT_ENDPOINT) === (b.endpoint ?? DEFAULT_ENDPOINT);
}

function prefixesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

/** The profiles file's text, undefined when there is none; refused unless a regular file of at most MAX_PROFILES_FILE_BYTES. */
function readProfilesFile(path: string): string | undefined {
  const read = readSmallFile(path, MAX_PROFILES_FILE_BYTES);
  if (read === undefined || 'text' in read) return read?.text;
  throw new BackupError('config', `cannot use ${path} as the profiles file: ${read.problem}; give --config the path of a profiles.yaml`);
}

/** The command that adds a missing profile: with its name, unless the name looks like a key (then NAME, never the key). */
function addHint(name: string, hints: Parameters<typeof profileHint>[0]): string {
  return holdsKeyShaped(name) ? `add a profile with "${profileHint(hints, 'add NAME')}" (a name of your own)` : `add it with "${profileHint(hints, `add ${name}`)}"`;
}
