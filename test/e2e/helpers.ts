import {expect} from '@jest/globals';
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Config} from '@oclif/core';
import {parse} from 'yaml';
import type {Body} from '../../src/backend.js';
import type {UploadResult} from '../../src/backups/index.js';
import type {LockSetting} from '../../src/backups/lock.js';
import type {OpenedLocation} from '../../src/cli/open-backend.js';
import type {TransferOverrides} from '../../src/cli/transfer-flags.js';
import type {TransferEventListener} from '../../src/b2/index.js';
import {checkB2} from '../../src/connect.js';
import {startEmulator, type EmulatorOptions, type RunningEmulator} from '../../src/emulator/index.js';
import {flagLabel, inputFromFlags} from '../../src/profiles/flags.js';
import {saveChecked} from '../../src/profiles/save-checked.js';
import {ProfileStore} from '../../src/profiles/store.js';
import {captureOutput, captureSecrets, captureTree} from '../helpers/capture.js';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot, runCli, type CliResult} from '../helpers/run-cli.js';

/** The CLI's name for its dirs under XDG_* (oclif's dirname) and what its hints start with. */
const CLI_DIRNAME = 'backup-plugin-b2';
const CLI_BIN = 'backup-b2';

/** What a backup profile needs: every capability the provider checks for, plus bucket listing. */
export const BACKUP_CAPABILITIES = ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles'];
/** A key that locks backups and sees every lock: what a profile with "lock:" is given. */
export const LOCKING_CAPABILITIES = [...BACKUP_CAPABILITIES, 'readFileRetentions', 'writeFileRetentions', 'readFileLegalHolds', 'readBucketRetentions'];

export interface ProfileFields {
  keyId: string;
  applicationKey: string;
  bucket?: string;
  /** Another emulator's (or B2's) URL: the world's emulator unless given. */
  endpoint?: string;
  prefix?: string;
  partSize?: string;
  concurrency?: number;
  encryption?: 'SSE-B2' | 'SSE-C';
  /** The SSE-C key, or file:PATH / env:NAME (a relative PATH is from the world's dir, as typed there). */
  encryptionKey?: string;
  /** false: `--no-check` (profiles that are meant to fail). */
  check?: boolean;
}

/** A raw run of the CLI: stdout as bytes (archives on stdout), the child to signal. */
export interface SpawnedCli {
  child: ChildProcessWithoutNullStreams;
  done: Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string}>;
}

/**
 * One end-to-end world: an emulator over real HTTP in this process, a temp dir holding
 * the profiles file and the CLI's XDG dirs (shared by every run, so caches and
 * interrupted-upload records carry over from one command to the next, as for a user).
 */
export class E2EWorld {
  /** Every application key handed out; none may ever appear in the CLI's output. */
  readonly secrets: string[];
  /** What every run printed, for the final check that no secret ever appeared. */
  readonly outputs: Array<{args: string[]; stdout: string; stderr: string}> = [];

  private constructor(
    readonly emu: RunningEmulator,
    readonly dir: string,
  ) {
    this.secrets = [emu.applicationKey];
    captureSecrets(this.secrets);
  }

  static async start(opts: EmulatorOptions = {}): Promise<E2EWorld> {
    const emu = await startEmulator({port: 0, ...opts});
    return new E2EWorld(emu, await mkdtemp(join(tmpdir(), 'b2-e2e-')));
  }

  get config(): string {
    return join(this.dir, 'profiles.yaml');
  }

  /** The CLI's config dir (oclif's config.configDir) in this world. */
  private get cliConfigDir(): string {
    return join(this.env.XDG_CONFIG_HOME, CLI_DIRNAME);
  }

  /** The CLI's data dir (oclif's config.dataDir) in this world. */
  private get cliDataDir(): string {
    return join(this.env.XDG_DATA_HOME, CLI_DIRNAME);
  }

  /** The CLI's cache dir (oclif's config.cacheDir) in this world: its error log, metadata cache, upload records. */
  get cliCacheDir(): string {
    return join(this.env.XDG_CACHE_HOME, CLI_DIRNAME);
  }

  get env(): Record<string, string> {
    return {XDG_CONFIG_HOME: join(this.dir, 'config'), XDG_DATA_HOME: join(this.dir, 'data'), XDG_CACHE_HOME: join(this.dir, 'cache')};
  }

  /** `b2 ARGS --config <ours>`, a child process with stdin a pipe (never a TTY). */
  async b2(args: string[], opts: {input?: string; env?: Record<string, string>} = {}): Promise<CliResult> {
    const r = await runCli(['b2', ...args, '--config', this.config], {env: {...this.env, ...opts.env}, input: opts.input, cwd: this.dir});
    this.outputs.push({args, stdout: r.stdout, stderr: r.stderr});
    return r;
  }

  /** Same, spawned directly: for signals and for byte-exact stdout. */
  spawn(args: string[], opts: {input?: Buffer; env?: Record<string, string>} = {}): SpawnedCli {
    const child = spawn(process.execPath, [join(cliRoot, 'bin/run.js'), 'b2', ...args, '--config', this.config], {cwd: this.dir, env: {...cleanEnv(), ...this.env, ...opts.env}, stdio: 'pipe'});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {}); // the CLI may exit without reading its input
    child.stdin.end(opts.input ?? '');
    const done = new Promise<Awaited<SpawnedCli['done']>>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const stderr = Buffer.concat(err).toString('utf8');
        captureOutput(args, Buffer.concat(out), stderr);
        this.outputs.push({args, stdout: Buffer.concat(out).toString('latin1'), stderr});
        resolve({code, signal, stdout: Buffer.concat(out), stderr});
      });
    });
    return {child, done};
  }

  /**
   * A command line as a fix hint prints it ("backup-b2 b2 … --config FILE --profile NAME"),
   * pasted into /bin/sh, with "backup-b2" the CLI under test: a hint runs as written or not
   * at all (its quoting, its flags). Nothing is added to it (no --config of ours).
   */
  async pasted(line: string): Promise<CliResult> {
    // "backup-b2" on the PATH, as the package's bin is once installed
    const bin = join(this.dir, 'bin');
    await mkdir(bin, {recursive: true});
    await writeFile(join(bin, 'backup-b2'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(join(cliRoot, 'bin/run.js'))} "$@"\n`, {mode: 0o755});
    const env = cleanEnv();
    const child = spawn('/bin/sh', ['-c', line], {cwd: this.dir, env: {...env, ...this.env, PATH: `${bin}:${env.PATH ?? ''}`}, stdio: 'pipe'});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.end();
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    const r = {code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')};
    captureOutput([line], Buffer.concat(out), r.stderr);
    this.outputs.push({args: [line], stdout: r.stdout, stderr: r.stderr});
    return r;
  }

  /**
   * Other secrets the runs must never show (SSE-C keys): checked by expectNoSecretInAnyRun
   * and by the suite-wide scan of every CLI run's output and files.
   */
  addSecrets(...secrets: string[]): void {
    this.secrets.push(...secrets);
    captureSecrets(secrets);
  }

  /** A key of its own (so that touchedNames can be checked per key), remembered as a secret. */
  async createKey(opts: Parameters<RunningEmulator['createKey']>[0] = {capabilities: BACKUP_CAPABILITIES}): Promise<{keyId: string; applicationKey: string}> {
    const key = await this.emu.createKey(opts);
    this.secrets.push(key.applicationKey);
    captureSecrets([key.applicationKey]);
    return key;
  }

  /** The `profile add` flags that give these fields (the emulator's bucket unless another is named). */
  private profileFlags(p: ProfileFields): Record<'key-id' | 'application-key' | 'bucket' | 'endpoint' | 'prefix' | 'part-size' | 'concurrency' | 'encryption' | 'encryption-key', string | undefined> {
    const concurrency = p.concurrency === undefined ? undefined : String(p.concurrency);
    return {'key-id': p.keyId, 'application-key': p.applicationKey, bucket: p.bucket ?? this.emu.bucket, endpoint: p.endpoint ?? this.emu.url, prefix: p.prefix, 'part-size': p.partSize, concurrency, encryption: p.encryption, 'encryption-key': p.encryptionKey};
  }

  /** The arguments of `b2 profile add NAME …` for these fields. */
  profileAddArgs(name: string, p: ProfileFields): string[] {
    const args = ['profile', 'add', name, ...Object.entries(this.profileFlags(p)).flatMap(([flag, value]) => (value === undefined ? [] : [`--${flag}`, value]))];
    if (p.check === false) args.push('--no-check');
    return args;
  }

  /**
   * A profile saved as `b2 profile add NAME …` saves it (checked against the emulator unless
   * `check: false`), by the command's own code run in this process: a test's setup, not
   * its subject, costs no CLI start. The command itself is tested through the CLI
   * (profileAddArgs, test/profiles). Fails the test if the profile is refused.
   */
  async addProfile(name: string, p: ProfileFields): Promise<void> {
    const store = await ProfileStore.open({flag: this.config, configDir: this.cliConfigDir, create: true});
    store.assertAddable(name);
    store.add(name, inputFromFlags(this.profileFlags(p), this.dir), flagLabel);
    await saveChecked(store, name, {check: p.check === false ? undefined : (profile) => checkB2(profile, {dataDir: this.cliDataDir, unsaved: true}), warn: () => undefined});
  }

  /**
   * `use` given the location of profile `name` (the default profile without one), opened in
   * this process by the commands' own code (openLocation: the profile from our file, its
   * backend, and its catalog with the cache and lock dirs a CLI run of this world uses, so
   * that a later run finds there what a command would have left). `overrides` as a
   * command's --concurrency, --part-size, --limit-*; `onEvent` sees what -v would show, `warn`
   * the warnings a command prints on stderr (none are kept without it). For
   * a test's setup and checks, at no CLI start; closed after.
   */
  async withLocation<T>(name: string | undefined, use: (at: OpenedLocation) => Promise<T>, opts: {overrides?: TransferOverrides; onEvent?: TransferEventListener; warn?: (line: string) => void} = {}): Promise<T> {
    // the fields of oclif's Config that openLocation reads, as this world's CLI runs have them
    const config = {bin: CLI_BIN, configDir: this.cliConfigDir, dataDir: this.cliDataDir, cacheDir: this.cliCacheDir, pjson: {name: CLI_DIRNAME}} as unknown as Config;
    const {openLocation} = await import('../../src/cli/open-backend.js'); // the catalog's code: loaded by the tests that use it only
    const at = await openLocation(config, {config: this.config, profile: name}, {warn: () => undefined, ...opts});
    try {
      return await use(at);
    } finally {
      await at.close();
    }
  }

  /**
   * A backup stored in profile `name` as `b2 upload` stores it (locked by the profile's
   * "lock:", or by `lock` as --lock-days / --lock-mode give it), by the catalog in this
   * process: for tests whose subject is another command (what it deletes, prunes, locks).
   * No prune follows. `upload` itself is tested through the CLI.
   */
  async storeBackup(name: string, body: Body, meta: {name?: string; metadata?: Record<string, string>; lock?: Partial<LockSetting>} = {}): Promise<UploadResult> {
    const [{lockForRun}, {retentionFor}] = await Promise.all([import('../../src/cli/object-lock.js'), import('../../src/backups/lock.js')]);
    return this.withLocation(name, ({profile, backend, catalog}) => {
      const lock = lockForRun(profile, meta.lock);
      return catalog.upload(body, {name: meta.name, metadata: meta.metadata, retention: lock && retentionFor(lock, backend.now())});
    });
  }

  /** Profile `name` made the default, as `b2 profile default NAME` does it (its code, in this process). */
  async setDefaultProfile(name: string): Promise<void> {
    const store = await ProfileStore.open({flag: this.config, configDir: this.cliConfigDir});
    store.setDefault(name);
    await store.save();
  }

  /** The ids of the backups profile `name` lists, in `b2 list`'s order (newest first). */
  listedIds(name: string): Promise<string[]> {
    return this.withLocation(name, async ({catalog}) => (await catalog.list()).map((b) => b.id));
  }

  /** Profile `name` as the profiles file holds it now (what a command run next would use). */
  async storedProfile(name: string): Promise<Record<string, unknown> | undefined> {
    const file = parse(await readFile(this.config, 'utf8')) as {profiles?: Record<string, Record<string, unknown>>} | null;
    return file?.profiles?.[name];
  }

  /** No application key in anything any run printed (call last: keys created later count too). */
  expectNoSecretInAnyRun(extra: string[] = []): void {
    expect(this.outputs.length).toBeGreaterThan(0);
    for (const o of this.outputs) expectNoSecrets(o, [...this.secrets, ...extra]);
  }

  async close(): Promise<void> {
    captureTree(join(this.dir, 'config')); // what the CLI left in its dirs (error log, caches, pending uploads)
    captureTree(join(this.dir, 'cache'));
    captureTree(join(this.dir, 'data'));
    await this.emu.stop();
    await rm(this.dir, {recursive: true, force: true});
  }
}

/** `text` as one single-quoted word for /bin/sh (the test's own quoting, not the one under test). */
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

export const sha1 = (data: Buffer | string) => createHash('sha1').update(data).digest('hex');
export const sha1OfFile = async (path: string) => sha1(await readFile(path));

export {storedVersions} from '../emulator/helpers.js';

/** Calls of one API name in the emulator's counters (0 when never called). */
export function calls(emu: RunningEmulator, name: string): number {
  return emu.stats().calls[name] ?? 0;
}

export function downloadCalls(emu: RunningEmulator): number {
  return calls(emu, 'b2_download_file_by_name') + calls(emu, 'b2_download_file_by_id');
}

/** No application key (or key id, when given) anywhere in what the CLI printed. */
export function expectNoSecrets(r: {stdout: string | Buffer; stderr: string}, secrets: string[]): void {
  const text = `${r.stdout.toString()}\n${r.stderr}`;
  for (const s of secrets) expect(text.includes(s) ? `output contains secret ${s.slice(0, 4)}…` : 'clean').toBe('clean');
}

/**
 * A failed run as the user must see it: the documented exit code, exactly one
 * `Error: …` line on stderr saying what is wrong (matching `message`), no stack trace,
 * nothing on stdout in human form, and no secret anywhere.
 */
export function expectFailure(r: CliResult, code: number, message: RegExp, secrets: string[]): void {
  expect({code: r.code, stderr: r.stderr}).toMatchObject({code});
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  const errors = lines.filter((l) => l.startsWith('Error: '));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(message);
  expect(lines.filter((l) => /^\s+at\s/.test(l) || /\.(ts|js):\d+/.test(l))).toEqual([]);
  expectNoSecrets(r, secrets);
}

export function parseJson<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)}\nstderr: ${r.stderr.slice(0, 300)}`);
  }
}

/** Waits (polling) until `ready()` is true; fails with `what` if `limitMs` passes first. */
export async function waitFor(ready: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!ready()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The temp files beside a download to `name` in `dir` (hidden, ending .partial). */
export async function partialsBeside(dir: string, name: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith(`.${name}.`) && f.endsWith('.partial'));
}

/** Polls `probe` until it answers something (for what another process makes, such as a temp file). */
export async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 1200; i++) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A download's temp file beside `name` in `dir` (other than `except`), once it exists (with `withData`: once it holds some of the archive). */
export function tempFileBeside(dir: string, name: string, opts: {withData?: boolean; except?: string} = {}): Promise<string> {
  return until(async () => {
    for (const n of await partialsBeside(dir, name)) {
      if (n === opts.except) continue;
      if (!opts.withData || (await stat(join(dir, n)).catch(() => undefined))?.size) return n;
    }
    return undefined;
  }, `a temp file beside ${name}`);
}
