import {BaseCommand, errorLine, profileFlag} from '../../src/cli/base-command.js';
import {cliPrefix} from '../../src/cli/cli-prefix.js';
import {readErrorLog} from '../../src/cli/error-log.js';
import {jsonText} from '../../src/cli/json-text.js';
import {bucketEncryptionText, bucketLockText} from '../../src/b2/bucket-checks.js';
import {connectB2} from '../../src/connect.js';
import {isBackupError} from '../../src/errors.js';
import {ProfileStore, type ResolvedProfile} from '../../src/profiles/index.js';

/** What diagnostics prints in place of anything identifying (as Home Assistant's diagnostics do). */
const REDACTED = '**REDACTED**';

export default class Diagnostics extends BaseCommand {
  static override summary = 'Print JSON for a bug report: settings, key capabilities, versions, recent errors. Never a secret.';
  static override description =
    "The key id and application key are redacted, and so are the bucket and name prefix the key is restricted to (as Home Assistant's diagnostics do). Connecting is attempted once; if it fails, or the profiles file cannot be used, the report says why instead of failing.";
  static override examples = ['<%= config.bin %> b2 diagnostics > b2-diagnostics.json', '<%= config.bin %> b2 diagnostics --json'];
  static override flags = {profile: profileFlag};
  /** The report is JSON either way; --json is accepted like on every other data command. */
  static override enableJsonFlag = true;

  async run(): Promise<Record<string, unknown>> {
    const {flags} = await this.parse(Diagnostics);
    const report: Record<string, unknown> = {
      tool: {name: 'backup-plugin-b2', version: this.config.plugins.get('backup-plugin-b2')?.version ?? this.config.version, host: `${this.config.name} ${this.config.version}`},
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    };
    // a broken profiles file is when a report is most needed: its problem is a finding, as a failed connection is
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli: cliPrefix(this.config)}).catch((err: unknown) => {
      if (!isBackupError(err)) throw err;
      report.profile = null;
      report.profilesFile = {ok: false, kind: err.kind, error: errorLine(err)};
      return undefined;
    });
    // a --profile naming none, or several profiles and none chosen, is still this command's bad input (exit 2)
    if (store) await this.describeProfile(store.resolve(flags.profile), report);
    report.recentErrors = await readErrorLog(this.config.cacheDir);
    if (!this.jsonEnabled()) this.log(jsonText(report));
    return report;
  }

  /** The profile's settings, then what connecting with it finds (or why it failed). */
  private async describeProfile(profile: ResolvedProfile, report: Record<string, unknown>): Promise<void> {
    report.profile = {
      name: profile.name,
      keyId: REDACTED,
      applicationKey: REDACTED,
      endpoint: profile.endpoint,
      bucket: profile.bucket,
      prefix: profile.prefix,
      partSize: profile.partSize ?? null,
      concurrency: profile.concurrency,
      bandwidth: profile.bandwidth ?? null,
      encryption: profile.encryption ? {mode: profile.encryption.mode, ...(profile.encryption.mode === 'SSE-C' ? {encryptionKey: REDACTED} : {})} : null,
      lock: profile.lock ?? null,
    };
    try {
      const backend = await connectB2(profile, {dataDir: this.config.dataDir, cli: cliPrefix(this.config)});
      try {
        const key = backend.keyInfo();
        report.key = {
          capabilities: key.capabilities,
          allowed: {bucketName: key.bucketRestriction ? REDACTED : null, namePrefix: key.namePrefix ? REDACTED : null},
          expiresAt: key.expiresAt?.toISOString() ?? null,
        };
        report.partSizes = {recommended: key.recommendedPartSize, absoluteMinimum: key.absoluteMinimumPartSize};
        const bucket = await backend.bucket().catch(() => undefined);
        report.bucket = {type: bucket?.bucketType ?? 'unknown', defaultEncryption: bucketEncryptionText(bucket), objectLock: bucketLockText(bucket).text};
      } finally {
        await backend.close();
      }
    } catch (err) {
      report.connection = {ok: false, kind: isBackupError(err) ? err.kind : 'failure', error: errorLine(err)};
    }
  }
}
