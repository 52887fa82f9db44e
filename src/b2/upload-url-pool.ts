import type {B2UploadUrl} from './wire-types.js';

/**
 * Upload URLs, one per worker: B2 rejects two uploads at once on one token
 * (auth_token_limit). A URL is handed to one worker at a time, returned after a
 * success, and dropped after a failure (Backblaze: never retry on the URL that failed).
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

  discard(_url: B2UploadUrl): void {
    // dropped: the next acquire fetches a fresh URL
  }

  /** After a re-authorization the upload tokens may be stale too. */
  clear(): void {
    this.idle = [];
  }

  get size(): number {
    return this.idle.length;
  }
}
