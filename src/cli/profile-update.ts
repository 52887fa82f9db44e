import {checkB2} from '../connect.js';
import {saveChecked} from '../profiles/save-checked.js';
import type {ProfileInput} from '../profiles/schema.js';
import type {FieldLabel, ProfileStore} from '../profiles/store.js';
import type {ResolvedProfile} from '../profiles/types.js';
import {holdShared, lockMove} from './copy-lock.js';
import {withInterrupt} from './interrupt.js';
import {backupsLeftBehind, customerKeyDropped, keyChangeWarning, leftBehindWarning, moveProfileBackups} from './move-backups.js';
import {forgetMove, samePlace} from './move-record.js';
import {locationId} from './open-backend.js';
import {customerKeyGone, soleCustomerKey} from './sole-key-confirmation.js';

/** One `b2 profile update`: the fields to change, and how (its flags, already checked against each other). */
export interface ProfileUpdate {
  name: string;
  input: ProfileInput;
  label: FieldLabel;
  /** Connect with the result before saving it (not --no-check). */
  check: boolean;
  /** --move-backups: the backups under the old prefix go to the new one first; dryRun only shows the plan. */
  move?: {dryRun: boolean};
  /** --yes: drop the profile's only copy of its SSE-C key without asking. */
  yes?: boolean;
}

export interface ProfileUpdateContext {
  /** Opened once the profile's move lock is held, so that the profile read is the one saved over. */
  openStore: () => Promise<ProfileStore>;
  dataDir: string;
  /** The profiles file's path (profilesFilePath): the profile is its name in it, for the move's lock and record. */
  profilesFile: string;
  cli: string;
  /** The --config the profiles file came from, which hints repeat (locationFlags). */
  configFlag?: string;
  log: (line: string) => void;
  warn: (line: string) => void;
  /**
   * Asked before an update (not a move: it copies every backup with the new key) drops the
   * only copy of the profile's SSE-C key (confirmSoleKeyLoss): false keeps the profile as it was.
   */
  confirmKeyLoss: (storePath: string) => Promise<boolean>;
}

/**
 * Applies `update` and saves the profile: checked first (unless not `check`), then the
 * backups moved (--move-backups) or the warnings about what stays under the old prefix or
 * needs the old SSE-C key. A real move holds its locks until the profile is saved: its
 * profile's (a second move, or another update, cannot read the old prefix and save over
 * the first) and the location's it moves from (another profile on the same bucket and
 * prefix, and every command writing there), both exclusive, and the one it moves to,
 * shared (holdMoveLocations). Any other update that saves the profile holds the
 * profile's shared: it keeps a move out (and is refused while one runs), not another
 * such update. Answers
 * the profiles file written, or undefined when nothing was saved (a dry run).
 */
export async function updateProfile(update: ProfileUpdate, ctx: ProfileUpdateContext): Promise<string | undefined> {
  const moving = update.move !== undefined && !update.move.dryRun;
  const note = moving ? moveNote(update) : `profile "${update.name}" is being updated`;
  const profile = {name: update.name, profilesFile: ctx.profilesFile};
  // a move holds its profile exclusively; any other update that saves it, shared (a dry run saves nothing)
  const releaseProfile = moving
    ? await lockMove(ctx.dataDir, {profile}, {what: `the backups of profile "${update.name}"`, note}, ctx.warn)
    : update.move
      ? undefined
      : await holdShared(ctx.dataDir, [{profile}], {note, notDone: 'the profile is unchanged'}, ctx.warn);
  try {
    const store = await ctx.openStore();
    // the profile as it is, when its old location or key matters (a move, or the warnings about what stays there)
    const touchesKey = update.input.encryption !== undefined || update.input.encryptionKey !== undefined;
    const before = (movesLocation(update.input) || touchesKey) && update.check ? store.resolve(update.name) : undefined;
    const soleKey = touchesKey && !update.move && !update.yes ? soleCustomerKey(store.list(), update.name) : undefined;
    store.update(update.name, update.input, update.label);
    if (soleKey !== undefined && customerKeyGone(soleKey, store.list().find((p) => p.name === update.name)?.entry) && !(await ctx.confirmKeyLoss(store.path))) return undefined;
    const releaseLocations = before && moving ? await holdMoveLocations(before, store.resolve(update.name), note, ctx) : undefined;
    try {
      return (await save(store, update, before, ctx)) ? store.path : undefined;
    } finally {
      await releaseLocations?.();
    }
  } finally {
    await releaseProfile?.();
  }
}

/** What a move of `update` does, for the commands its locks keep out: "the backups of profile "p1" are being moved to "p1b/"". */
function moveNote(update: ProfileUpdate): string {
  const {prefix, bucket} = update.input;
  return `the backups of profile "${update.name}" are being moved to ${JSON.stringify(String(prefix ?? ''))}${bucket === undefined ? '' : ` in bucket ${bucket}`}`;
}

/**
 * A move's holds of the locations it reads and writes: the one it moves from, exclusive
 * (another move from it, and every writer there, stay out), and the one it copies to,
 * shared as every writer's (a move from there stays out: it would not see these copies).
 */
async function holdMoveLocations(from: ResolvedProfile, to: ResolvedProfile, note: string, ctx: ProfileUpdateContext): Promise<() => Promise<void>> {
  const releaseFrom = await lockMove(ctx.dataDir, {location: locationId(from)}, {what: `the backups under ${JSON.stringify(from.prefix)} in bucket ${from.bucket}`, note}, ctx.warn);
  try {
    const releaseTo = locationId(to) === locationId(from) ? undefined : await holdShared(ctx.dataDir, [{location: locationId(to)}], {note, notDone: 'nothing was moved and the profile is unchanged'}, ctx.warn);
    return async () => {
      await releaseTo?.();
      await releaseFrom();
    };
  } catch (err) {
    await releaseFrom();
    throw err;
  }
}

function save(store: ProfileStore, update: ProfileUpdate, before: ResolvedProfile | undefined, ctx: ProfileUpdateContext): Promise<boolean> {
  const {name, move} = update;
  return withInterrupt(
    (signal) =>
      saveChecked(store, name, {
        check: update.check ? (profile) => checkB2(profile, {dataDir: ctx.dataDir, cli: ctx.cli, savedProfiles: {configFlag: ctx.configFlag}}) : undefined,
        warn: ctx.warn,
        beforeSave: async () => {
          if (!before) return true;
          const after = store.resolve(name);
          // a move copies every backup anew, with the new key: nothing stays behind
          if (move) return moveProfileBackups(before, after, {dataDir: ctx.dataDir, cli: ctx.cli, configFlag: ctx.configFlag, dryRun: move.dryRun, signal, log: ctx.log, warn: ctx.warn});
          await warnWhatStays(before, after, signal, ctx);
          return true;
        },
      }).then(async (saved) => {
        if (saved && move) await forgetMove(ctx.dataDir, {name, profilesFile: ctx.profilesFile}); // the move is finished once the profile names its destination
        return saved;
      }),
    {
      // a stopped move may cancel an unfinished copy on B2 on the way out
      notice: move ? ctx.warn : undefined,
      interrupted: () =>
        move && !move.dryRun
          ? 'profile update interrupted; the profile was not saved and the move is unfinished: run the same command again to finish it'
          : 'profile update interrupted; nothing was changed',
    },
  );
}

/** The backups an update without a move leaves needing what the profile no longer has: the old SSE-C key, the old prefix. */
async function warnWhatStays(before: ResolvedProfile, after: ResolvedProfile, signal: AbortSignal, ctx: ProfileUpdateContext): Promise<void> {
  // how many backups stay where the profile was (counted once, only when a warning needs it)
  let counted: Promise<number> | undefined;
  const stayingBehind = () =>
    (counted ??= backupsLeftBehind(before, {dataDir: ctx.dataDir, signal}).catch((err: unknown) => {
      if (signal.aborted) throw err;
      return 0; // the old location may be out of reach now: no count, no warning
    }));
  if (customerKeyDropped(before, after) && (await stayingBehind()) > 0) ctx.warn(keyChangeWarning(await stayingBehind(), before, after));
  // a new location (prefix, bucket or endpoint): say what stays behind
  if (!samePlace(before, after) && (await stayingBehind()) > 0) ctx.warn(leftBehindWarning(await stayingBehind(), before, after, ctx));
}

/** Whether an update may point the profile at another location (its prefix, bucket or endpoint given). */
function movesLocation(input: ProfileInput): boolean {
  return input.prefix !== undefined || input.bucket !== undefined || input.endpoint !== undefined;
}
