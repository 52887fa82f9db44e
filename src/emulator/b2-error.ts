/**
 * An error the emulator answers with B2's body `{status, code, message}`. Handlers throw
 * these; the server turns them into responses (HEAD responses carry no body).
 */
export class B2ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'B2ApiError';
  }

  body(): {status: number; code: string; message: string} {
    return {status: this.status, code: this.code, message: this.message};
  }
}

export const badRequest = (message: string, code = 'bad_request') => new B2ApiError(400, code, message);
export const unauthorized = (message: string) => new B2ApiError(401, 'unauthorized', message);
export const notFound = (message: string) => new B2ApiError(404, 'not_found', message);
/** Backblaze's retryable server-side failure ("call b2_get_upload_url again" for uploads). */
export const serviceUnavailable = (message: string) => new B2ApiError(503, 'service_unavailable', message);

export function isB2ApiError(e: unknown): e is B2ApiError {
  return e instanceof B2ApiError;
}
