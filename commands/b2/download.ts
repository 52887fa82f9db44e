import {Flags} from '@oclif/core';
import {assertBackupId} from '../../src/backups/index.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {backupSummary, renderDownloaded, type BackupSummary} from '../../src/backups/display.js';
import {defaultDownloadName, prepareDestination, type Destination} from '../../src/backups/file-output.js';
import {isClosedPipe, orStdoutFailure} from '../../src/cli/closed-pipe.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {outputChoice, outputFlags} from '../../src/cli/output-flags.js';
import {progressDisplay} from '../../src/cli/progress.js';
import {writeToStdout} from '../../src/cli/stdout-writer.js';
import {timing} from '../../src/timing.js';
import {limitDownloadFlag, concurrencyFlag, transferOverrides} from '../../src/cli/transfer-flags.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import type {TransferProgress} from '../../src/backend.js';

export default class Download extends LocationCommand {
  static override summary = 'Download a backup archive, verified while it downloads.';
  static override description =
    'Writes the archive to PATH (default: its name in the bucket, in the current directory) or to stdout with -o -. The size and SHA1 are checked as the bytes arrive (only the size for an archive with no SHA1 on record, such as one Home Assistant streamed up; the output then says so); on a mismatch the partial file is removed and the exit code is 5. An existing file is never overwritten without --force. A dropped connection resumes from the last byte received.';
  static override examples = ['<%= config.bin %> b2 download 1a2b3c4d', '<%= config.bin %> b2 download 1a2b3c4d -o restore.tar --force', '<%= config.bin %> b2 download 1a2b3c4d -o - | tar -t'];
  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};
  static override flags = {
    output: Flags.string({char: 'o', description: 'where to write the archive; - for stdout'}),
    force: Flags.boolean({char: 'f', description: 'overwrite an existing file', default: false}),
    concurrency: concurrencyFlag,
    'limit-download': limitDownloadFlag,
    ...outputFlags,
  };

  async run(): Promise<BackupSummary & {path: string | null}> {
    const {args, flags} = await this.parse(Download);
    assertBackupId(args.id); // before connecting: a bad id costs nothing
    const overrides = transferOverrides(flags);
    // a bad -o fails before connecting; -o /dev/stdout is stdout (a socket there cannot be reopened)
    const dest = flags.output !== undefined && flags.output !== '-' ? await prepareDestination(flags.output, flags.force) : undefined;
    const toStdout = flags.output === '-' || dest?.kind === 'stdout';
    if (toStdout && this.jsonEnabled()) throw new BackupError('bad_input', '--json and -o - both write to stdout; drop one of them');
    const out = outputChoice(flags, this.jsonEnabled());
    let writing: string | undefined; // the file being written, once known
    return this.withLocation(flags, async ({catalog}, signal) => {
      // one listing finds it; the metadata file's contents are not part of what a download prints
      const info = await catalog.locate(args.id, {signal});
      timing('backup found');
      const bar = progressDisplay({label: 'Downloading', total: info.size, mode: out.mode, intervalMs: out.intervalMs});
      let received = 0;
      const onProgress = (p: TransferProgress) => (bar.update(p), (received = p.loaded));
      // stdout, a pipe or a device took what came: a failure after bytes went out says that it is incomplete
      const orIncomplete = (where?: string) => (err: unknown): never => {
        throw received > 0 ? incompleteAt(err, where) : err;
      };
      try {
        if (toStdout) {
          const {stream} = await catalog.download(info, {signal, onProgress});
          await writeToStdout(stream).catch(orIncomplete());
          bar.stop();
          return {...backupSummary(info), path: null};
        }
        const path = flags.output ?? defaultDownloadName(info);
        writing = path;
        const done = await catalog.downloadToFile(info, path, {force: flags.force, signal, onProgress}).catch(dest?.kind === 'special' ? orIncomplete(path) : undefined);
        bar.stop();
        if (!out.quiet) this.logToStderr(renderDownloaded(done));
        if (!this.jsonEnabled()) this.log(done.path);
        return {...backupSummary(info), path: done.path};
      } finally {
        bar.stop();
      }
    }, {overrides, verbose: out.verbose, interrupted: () => downloadInterrupted(toStdout ? 'stdout' : (dest?.kind ?? 'file'), writing ?? flags.output)});
  }
}

/**
 * A download to stdout (`where` undefined), a pipe or a device (`where`: its path) that
 * failed after bytes went out (B2, the network, a checksum mismatch): the line says that
 * what the reader got is incomplete, as an interrupted one does. Not for a closed pipe
 * (normal use), a failed write to stdout (its own line) or an interrupt (downloadInterrupted says it).
 */
function incompleteAt(err: unknown, where?: string): unknown {
  if (!isBackupError(err) || err.kind === 'aborted' || isClosedPipe(err) || (where === undefined && orStdoutFailure(undefined) !== undefined)) return err;
  return new BackupError(err.kind, `${err.message}; the archive written to ${where ?? 'standard output'} is incomplete (discard it)`, {cause: err.cause, transient: err.transient, resumable: err.resumable});
}

/** What an interrupted download left: a file is written whole or not at all; stdout, a device or a pipe got part of the archive. */
function downloadInterrupted(kind: Destination['kind'], path: string | undefined): string {
  const again = 'run the same command again to download it';
  if (kind === 'stdout') return `download interrupted; the archive written to standard output is incomplete; ${again}`;
  if (kind === 'special') return `download interrupted; what was written to ${path} is incomplete; ${again}`;
  return `download interrupted; nothing was written${path === undefined ? '' : ` to ${path}`}; ${again}`;
}
