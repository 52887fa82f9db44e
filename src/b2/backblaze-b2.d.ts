/**
 * The slice of the untyped `backblaze-b2` library (v1.7.x) the client wrapper uses.
 * Every call takes per-request axios options (`axios`, merged under the library's own
 * options, and `axiosOverride`, merged over them); the wrapper passes all of its
 * settings that way because instance settings leak between clients (one module-wide
 * axios instance).
 */
declare module 'backblaze-b2' {
  interface PerCall {
    axios?: Record<string, unknown>;
    axiosOverride?: Record<string, unknown>;
  }
  interface AxiosLikeResponse<T = any> {
    status: number;
    data: T;
    headers: Record<string, string | undefined>;
  }
  class B2 {
    constructor(options: {applicationKeyId: string; applicationKey: string; retry?: Record<string, unknown>; axios?: Record<string, unknown>});
    authorizationToken: string | null;
    apiUrl: string | null;
    downloadUrl: string | null;
    accountId: string | undefined;
    authorize(args?: PerCall): Promise<AxiosLikeResponse>;
    getBucket(args: PerCall & {bucketName?: string; bucketId?: string}): Promise<AxiosLikeResponse>;
    getUploadUrl(args: PerCall & {bucketId: string}): Promise<AxiosLikeResponse>;
    uploadFile(args: PerCall & {uploadUrl: string; uploadAuthToken: string; fileName: string; data: unknown; contentLength?: number; hash?: string; mime?: string; info?: Record<string, string>}): Promise<AxiosLikeResponse>;
    startLargeFile(args: PerCall & {bucketId: string; fileName: string; contentType?: string}): Promise<AxiosLikeResponse>;
    getUploadPartUrl(args: PerCall & {fileId: string}): Promise<AxiosLikeResponse>;
    uploadPart(args: PerCall & {uploadUrl: string; uploadAuthToken: string; partNumber: number; data: unknown; contentLength?: number; hash?: string}): Promise<AxiosLikeResponse>;
    finishLargeFile(args: PerCall & {fileId: string; partSha1Array: string[]}): Promise<AxiosLikeResponse>;
    cancelLargeFile(args: PerCall & {fileId: string}): Promise<AxiosLikeResponse>;
    listParts(args: PerCall & {fileId: string; startPartNumber?: number; maxPartCount?: number}): Promise<AxiosLikeResponse>;
    listFileNames(args: PerCall & {bucketId: string; startFileName?: string; maxFileCount?: number; prefix?: string; delimiter?: string}): Promise<AxiosLikeResponse>;
    listFileVersions(args: PerCall & {bucketId: string; startFileName?: string; startFileId?: string; maxFileCount?: number}): Promise<AxiosLikeResponse>;
    getFileInfo(args: PerCall & {fileId: string}): Promise<AxiosLikeResponse>;
    downloadFileByName(args: PerCall & {bucketName: string; fileName: string; responseType?: string}): Promise<AxiosLikeResponse>;
    downloadFileById(args: PerCall & {fileId: string; responseType?: string}): Promise<AxiosLikeResponse>;
    deleteFileVersion(args: PerCall & {fileId: string; fileName: string}): Promise<AxiosLikeResponse>;
  }
  export default B2;
}

/** The library's request module: the same axios instance and response handling as its own calls. */
declare module 'backblaze-b2/lib/request.js' {
  const request: {sendRequest(options: Record<string, unknown>): Promise<{status: number; data: any; headers: Record<string, string | undefined>}>};
  export default request;
}
