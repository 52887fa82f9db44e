import type {B2UploadUrl} from './wire-types.js';

/**
 * Upload URLs, one per worker: B2 rejects two uploads at once on one token
 * (auth_token_limit). A URL is handed to one worker at a time, released after a
 * success, and never released after a failure (Backblaze: never retry on the URL that
 * failed), so the next acquire fetches a fresh one.
 */
export class UploadUrlPool {
  private idle: B2UploadUrl[] = [];

  constructor(private readonly fetchUrl: (signal?: AbortSignal) => Promise<B2UploadUrl>) {}

  async acquire(signal?: AbortSignal): Promise<B2UploadUrl> {
    return this.idle.pop() ?? (await this.fetchUrl(signal));
  }

  release(url: B2UploadUrl): void {
    this.idle.push(url);
  }

  /** After a re-authorization the upload tokens may be stale too. */
  clear(): void {
    this.idle = [];
  }
}
