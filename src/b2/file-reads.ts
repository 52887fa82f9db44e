import {isBackupError} from '../errors.js';
import type {B2Client, DownloadOptions, DownloadResponse, DownloadTarget} from './client.js';
import type {PlainCause} from './errors.js';

/**
 * The requests that read one stored file (a download's first request, its ranges and
 * their resumes; a stat's HEAD and the GET after it), all with one SSE-C decision: the
 * profile's key goes with them only when the file is stored with SSE-C, as b2sdk decides
 * per file version. Backblaze documents the key headers for SSE-C files alone, and S3
 * servers refuse them on any other file (400 "not applicable"): a backup made before the
 * profile switched to SSE-C, or by another tool, must still read.
 *
 * Known from a listing (`storedWithKey`), the first request goes as it says. Unknown, it
 * goes without the key and, when B2 refuses it as SSE-C data read without its key, once
 * more with it: one extra request, neither retried nor told as a failure. Every later
 * request goes as the one that was answered.
 */
export class FileReads {
  /** Whether requests carry the key; undefined until an answer tells. */
  private withKey: boolean | undefined;

  constructor(
    private readonly client: B2Client,
    storedWithKey?: boolean,
  ) {
    this.withKey = !client.hasCustomerKey ? false : storedWithKey ? true : undefined;
  }

  async download(target: DownloadTarget, opts: Omit<DownloadOptions, 'withKey'>): Promise<DownloadResponse> {
    if (this.withKey !== undefined) return this.client.download(target, {...opts, withKey: this.withKey});
    try {
      const res = await this.client.download(target, {...opts, withKey: false});
      this.withKey = false;
      return res;
    } catch (err) {
      // for a profile with an SSE-C key, errors.ts calls every 403 to a read (a HEAD's has no reason) this
      if (!isBackupError(err, 'encryption_key')) throw err;
      return this.withCustomerKey(target, opts, err);
    }
  }

  private async withCustomerKey(target: DownloadTarget, opts: Omit<DownloadOptions, 'withKey'>, refusal: unknown): Promise<DownloadResponse> {
    try {
      const res = await this.client.download(target, {...opts, withKey: true});
      this.withKey = true;
      return res;
    } catch (err) {
      // the key is not applicable: the file is not SSE-C, and the first refusal (a cap, a suspended account) stands
      if ((err as {cause?: PlainCause}).cause?.status === 400) {
        this.withKey = false;
        throw refusal;
      }
      // refused without the key and not for carrying it: later requests carry it, and this
      // answer's reason (another key, a range outside the file) is the one to give
      this.withKey = true;
      throw err;
    }
  }
}
