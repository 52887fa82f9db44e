import {createServer, IncomingMessage, Server, ServerResponse, STATUS_CODES} from 'node:http';
import {Socket} from 'node:net';
import {setTimeout as sleep} from 'node:timers/promises';
import {B2ApiError, isB2ApiError} from './b2-error.js';
import {ConnectionLost, RequestContext} from './context.js';
import {EmulatorCore, expired} from './core.js';
import {FaultDecision, parseTestModes} from './faults.js';
import {downloadById, downloadByName} from './handlers/downloads.js';
import {JsonResult} from './handlers/handler.js';
import {uploadFile, uploadPart} from './handlers/uploads.js';
import {percentDecode} from './names.js';
import {Params} from './params.js';
import {JSON_CALLS} from './routes.js';
import {EXTRA_BYTES} from './upload-body.js';

const BASE_URL = 'http://emulator.invalid';
const IN_FLIGHT = Symbol('requestsInFlight');
const CURRENT = Symbol('currentExchange');
type MarkedSocket = Socket & {[EXTRA_BYTES]?: boolean; [IN_FLIGHT]?: number; [CURRENT]?: {req: IncomingMessage; res: ServerResponse}};

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
    // Own properties only: "constructor" or "__proto__" are no calls.
    const handler = Object.hasOwn(JSON_CALLS, call) ? JSON_CALLS[call] : undefined;
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

/** Answers B2's error body straight on the socket (no request object to answer through), then closes it. */
function answerOnSocket(socket: Socket, status: number, code: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({status, code, message});
  const reason = STATUS_CODES[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
}

/** The HTTP server: routing, fault injection, parameters, answers and errors for every call. */
export function createEmulatorServer(core: EmulatorCore): Server {
  const stall = core.settings.stallTimeoutMs;
  const server = createServer(
    // Headers that take longer than the stall timeout are answered 408 (checked at least once a second).
    {headersTimeout: stall, requestTimeout: 0, connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(stall / 4)))},
    (req, res) => {
      // handle() answers every error itself; this only guards the process against a bug there.
      handle(core, req, res).catch(() => req.socket.destroy());
    },
  );
  server.on('clientError', (err: Error & {code?: string}, socket: MarkedSocket) => {
    // The client closed its side mid-body: the request in flight can only fail.
    if (err.code === 'HPE_INVALID_EOF_STATE') {
      socket.destroy();
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answerOnSocket(socket, 408, 'request_timeout', `the request headers did not arrive within ${stall} ms`);
      return;
    }
    const current = (socket[IN_FLIGHT] ?? 0) > 0 ? socket[CURRENT] : undefined;
    if (current && !current.req.complete) {
      // The body in flight is malformed (e.g. a bad chunk size): it can never end, so answer now and close.
      if (current.res.headersSent) socket.destroy();
      else answerOnSocket(socket, 400, 'bad_request', `malformed request body (${err.code ?? 'parse error'})`);
      return;
    }
    // Bytes past an upload's Content-Length arrive as a garbled next request. Flag the
    // socket so the upload in flight fails; otherwise answer 400 and close.
    socket[EXTRA_BYTES] = true;
    if (current) return;
    answerOnSocket(socket, 400, 'bad_request', `malformed HTTP request (${err.code ?? 'parse error'})`);
  });
  return server;
}

async function handle(core: EmulatorCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const socket = req.socket as MarkedSocket;
  socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
  socket[CURRENT] = {req, res};
  // A client that leaves (or an emulator that stops) ends the injected latency with it:
  // no timer may outlive the request it delays.
  const gone = new AbortController();
  res.on('close', () => {
    gone.abort();
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1;
    if (socket[EXTRA_BYTES]) socket.destroy();
  });
  const rawUrl = req.url ?? '/';
  // A request target URL cannot parse (e.g. "http://[::1/x") is answered 400, never thrown out of the handler.
  const url = URL.canParse(rawUrl, BASE_URL) ? new URL(rawUrl, BASE_URL) : undefined;
  // The raw path, not URL's normalised one: a file name may contain "..".
  const path = rawUrl.split('?')[0];
  const r = route(path);
  const call = r?.call ?? 'unknown';
  core.stats.call(call);
  if (core.settings.onRequest) await Promise.resolve(core.settings.onRequest(call)).catch(() => undefined);
  const fault = r ? core.faults.decide(call, parseTestModes(req.headers['x-bz-test-mode'])) : {latencyMs: 0, answerLatencyMs: 0};
  const ctx = new RequestContext(req, res, url ?? new URL(BASE_URL), r?.apiVersion ?? 2, call, fault, core.stats, core.settings.stallTimeoutMs);
  // B2's clock, which decides when a retention ends (tests move it: emu.clock.advance)
  res.setHeader('Date', new Date(core.now()).toUTCString());
  try {
    countFaults(core, fault);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs, undefined, {signal: gone.signal});
    if (!url) throw new B2ApiError(400, 'bad_request', 'the request URL is malformed');
    if (!r) throw new B2ApiError(404, 'not_found', `no such API call or file path: ${path}`);
    if (!r.methods.includes(req.method ?? '')) throw new B2ApiError(405, 'method_not_allowed', `${req.method} is not allowed for ${call}`);
    if (fault.error || fault.expireToken) {
      await ctx.drain();
      if (fault.expireToken) core.expireToken(ctx.header('authorization'));
      throw fault.error ?? expired();
    }
    if (r.json) ctx.params = req.method === 'POST' ? {...queryParams(url), ...(await ctx.readJson())} : queryParams(url);
    const result = await r.run(core, ctx);
    // carried out; a client that leaves while its answer is held never gets it
    if (result && fault.answerLatencyMs > 0) await sleep(fault.answerLatencyMs, undefined, {signal: gone.signal});
    if (result && fault.answerFields) core.stats.fault('answer_fields');
    if (result) await ctx.sendJson(200, fault.answerFields ? {...(result.json as object), ...fault.answerFields} : result.json);
    core.stats.billed(call, result?.names);
  } catch (e) {
    await answerError(ctx, e);
  }
}

/** Counts the faults decided for a request (cuts and corruption count where they happen). */
function countFaults(core: EmulatorCore, fault: FaultDecision): void {
  if (fault.error) core.stats.fault(`http_${fault.error.status}`);
  if (fault.expireToken) core.stats.fault('expire_token');
  if (fault.latencyMs > 0 || fault.answerLatencyMs > 0) core.stats.fault('latency');
  if (fault.bytesPerSecond) core.stats.fault('throttle');
}

async function answerError(ctx: RequestContext, e: unknown): Promise<void> {
  if (e instanceof ConnectionLost || ctx.req.socket.destroyed) return;
  if (ctx.answered) {
    ctx.res.socket?.destroy();
    return;
  }
  const err = isB2ApiError(e) ? e : new B2ApiError(500, 'internal_error', `internal error: ${(e as Error)?.message ?? String(e)}`);
  // A stalled body would hold the connection while Node discards the rest of it: close instead.
  if ((ctx.req.socket as MarkedSocket)[EXTRA_BYTES] || err.status === 408) ctx.res.setHeader('Connection', 'close');
  await ctx.sendError(err).catch(() => ctx.res.socket?.destroy());
}
