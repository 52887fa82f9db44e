import {pipeline, type Readable} from 'node:stream';
import {throttled, type Clock, TokenBucket} from '../token-bucket.js';

/** One token bucket per direction, shared by every transfer of a backend. */
export interface BandwidthLimits {
  upload?: TokenBucket;
  download?: TokenBucket;
}

/** Limits from bytes-per-second settings (undefined: no limit that way). */
export function bandwidthLimits(rates: {upload?: number; download?: number} | undefined, clock?: Clock): BandwidthLimits {
  return {
    upload: rates?.upload ? new TokenBucket(rates.upload, clock) : undefined,
    download: rates?.download ? new TokenBucket(rates.download, clock) : undefined,
  };
}

/**
 * The stream as it goes on the wire: through the bucket when there is one. Destroying
 * either end (a failed request releases its body) destroys both.
 */
export function limited(stream: Readable, bucket: TokenBucket | undefined): Readable {
  if (!bucket) return stream;
  return pipeline(stream, throttled(bucket), () => {});
}
