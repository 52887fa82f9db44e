import {createServer, IncomingMessage, Server, ServerResponse} from 'node:http';
import {Socket} from 'node:net';
import {setTimeout as sleep} from 'node:timers/promises';
import {B2ApiError, isB2ApiError} from './b2-error.js';
import {RequestContext} from './context.js';
import {EmulatorCore} from './core.js';
import {parseTestModes} from './faults.js';
import {downloadById, downloadByName} from './handlers/downloads.js';
import {JsonResult} from './handlers/handler.js';
import {uploadFile, uploadPart} from './handlers/uploads.js';
import {percentDecode} from './names.js';
import {Params} from './params.js';
import {JSON_CALLS} from './routes.js';
import {ConnectionLost, EXTRA_BYTES} from './upload-body.js';

const IN_FLIGHT = Symbol('requestsInFlight');
type MarkedSocket = Socket & {[EXTRA_BYTES]?: boolean; [IN_FLIGHT]?: number};

interface Route {
  call: string;
  apiVersion: number;
  methods: string[];
  /** Whether the call takes JSON parameters (POST body or GET query). */
  json: boolean;
  run: (core: EmulatorCore, ctx: RequestContext) => Promise<JsonResult | void>;
}

/** Maps a request path to the call it makes; undefined = no such call. */
function route(path: string): Route | undefined {
  const api = /^\/b2api\/v([1-4])\/([a-z0-9_]+)(?:\/(.+))?$/.exec(path);
  if (api) {
    const apiVersion = Number(api[1]);
    const [, , call, rest] = api;
    if (call === 'b2_upload_file' && rest) {
      return {call, apiVersion, methods: ['POST'], json: false, run: (core, ctx) => uploadFile(core, ctx, rest)};
    }
    if (call === 'b2_upload_part' && rest) {
      return {call, apiVersion, methods: ['POST'], json: false, run: (core, ctx) => uploadPart(core, ctx, rest)};
    }
    if (rest) return undefined;
    if (call === 'b2_download_file_by_id') return {call, apiVersion, methods: ['GET', 'HEAD', 'POST'], json: true, run: downloadById};
    const handler = JSON_CALLS[call];
    return handler ? {call, apiVersion, methods: ['GET', 'POST'], json: true, run: handler} : undefined;
  }
  const file = /^\/file\/([^/]+)\/(.+)$/.exec(path);
  if (file) {
    return {
      call: 'b2_download_file_by_name',
      apiVersion: 2,
      methods: ['GET', 'HEAD'],
      json: false,
      run: (core, ctx) => downloadByName(core, ctx, percentDecode(file[1], 'bucket name'), percentDecode(file[2], 'file name')),
    };
  }
  return undefined;
}

function queryParams(url: URL): Params {
  const params: Params = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  return params;
}

/** The HTTP server: routing, fault injection, parameters, answers and errors for every call. */
export function createEmulatorServer(core: EmulatorCore): Server {
  const server = createServer((req, res) => {
    void handle(core, req, res);
  });
  // Bytes past an upload's Content-Length arrive as a garbled next request. Flag the
  // socket so the upload in flight fails; otherwise answer 400 and close.
  server.on('clientError', (err: Error & {code?: string}, socket: MarkedSocket) => {
    // The client closed its side mid-body: the request in flight can only fail.
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      socket.destroy();
      return;
    }
    socket[EXTRA_BYTES] = true;
    if ((socket[IN_FLIGHT] ?? 0) > 0) return;
    if (socket.writable) {
      const body = JSON.stringify({status: 400, code: 'bad_request', message: 'malformed HTTP request'});
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    } else socket.destroy();
  });
  // Large uploads can take longer than Node's default request timeout.
  server.requestTimeout = 0;
  return server;
}

async function handle(core: EmulatorCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const socket = req.socket as MarkedSocket;
  socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
  res.on('close', () => {
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1;
    if (socket[EXTRA_BYTES]) socket.destroy();
  });
  const rawUrl = req.url ?? '/';
  const url = new URL(rawUrl, 'http://emulator.invalid');
  // The raw path, not URL's normalised one: a file name may contain "..".
  const path = rawUrl.split('?')[0];
  const r = route(path);
  const call = r?.call ?? 'unknown';
  core.stats.call(call);
  const fault = r ? core.faults.decide(call, parseTestModes(req.headers['x-bz-test-mode'])) : {latencyMs: 0};
  const ctx = new RequestContext(req, res, url, r?.apiVersion ?? 2, call, fault, core.stats);
  try {
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (!r) throw new B2ApiError(404, 'not_found', `no such API call or file path: ${path}`);
    if (!r.methods.includes(req.method ?? '')) throw new B2ApiError(405, 'method_not_allowed', `${req.method} is not allowed for ${call}`);
    if (fault.error) {
      await ctx.drain();
      throw fault.error;
    }
    if (r.json) ctx.params = req.method === 'POST' ? {...queryParams(url), ...(await ctx.readJson())} : queryParams(url);
    const result = await r.run(core, ctx);
    if (result) await ctx.sendJson(200, fault.answerFields ? {...(result.json as object), ...fault.answerFields} : result.json);
    core.stats.billed(call, result?.names);
  } catch (e) {
    await answerError(ctx, e);
  }
}

async function answerError(ctx: RequestContext, e: unknown): Promise<void> {
  if (e instanceof ConnectionLost || ctx.req.socket.destroyed) return;
  if (ctx.answered) {
    ctx.res.socket?.destroy();
    return;
  }
  const err = isB2ApiError(e) ? e : new B2ApiError(500, 'internal_error', `internal error: ${(e as Error)?.message ?? String(e)}`);
  if ((ctx.req.socket as MarkedSocket)[EXTRA_BYTES]) ctx.res.setHeader('Connection', 'close');
  await ctx.sendError(err).catch(() => ctx.res.socket?.destroy());
}
