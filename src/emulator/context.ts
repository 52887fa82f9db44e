import {IncomingMessage, ServerResponse} from 'node:http';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {B2ApiError, badRequest} from './b2-error.js';
import {MAX_JSON_BODY_BYTES} from './constants.js';
import {FaultDecision, parseTestModes} from './faults.js';
import {Params} from './params.js';
import {createShaper} from './shaper.js';
import {StatsCollector} from './stats.js';
import {FaultKind, KeyRecord} from './types.js';

/** Thrown when the client went away mid-request: there is nobody left to answer. */
export class ConnectionLost extends Error {}

/**
 * One request in flight: its call name and parameters, the fault decision for it, and
 * the only ways to read its body and to answer it (so byte counters, response cuts
 * and throttling apply to every call alike).
 */
export class RequestContext {
  params: Params = {};
  /** The key behind the request's token, once authenticated (for touchedNames). */
  key?: KeyRecord;
  answered = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly url: URL,
    readonly apiVersion: number,
    readonly call: string,
    readonly fault: FaultDecision,
    private readonly stats: StatsCollector,
    private readonly stallTimeoutMs: number,
  ) {}

  get head(): boolean {
    return this.req.method === 'HEAD';
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }

  /** A fault that a handler carried out (e.g. a shifted range), for `stats().faults`. */
  countFault(kind: FaultKind): void {
    this.stats.fault(kind);
  }

  testModes(): Set<string> {
    return parseTestModes(this.req.headers['x-bz-test-mode']);
  }

  /**
   * The request body as a stream, through the fault shaper (cuts, corruption, throttling,
   * bytesIn). A body that stops arriving for stallTimeoutMs fails with 408 request_timeout,
   * so a stalled client holds no descriptor or temp file for ever. A client that has gone
   * fails it at once (ConnectionLost), also when it left before the body was asked for.
   */
  body(): Readable {
    const length = Number(this.header('content-length'));
    const fraction = this.fault.corruptAtFraction;
    const shaper = createShaper({
      cutAfterBytes: this.fault.cutRequestAfterBytes,
      bytesPerSecond: this.fault.bytesPerSecond,
      corruptAt: fraction !== undefined && length > 0 ? Math.floor(fraction * length) : undefined,
      onBytes: (n) => {
        this.stats.bytesIn(n);
        stall.refresh();
      },
      onCut: () => {
        this.stats.fault('cut_request');
        this.req.socket.destroy();
      },
      onCorrupt: () => this.stats.fault('corrupt_body'),
    });
    const stall = setTimeout(() => {
      shaper.destroy(new B2ApiError(408, 'request_timeout', `no request body bytes arrived for ${this.stallTimeoutMs} ms`));
    }, this.stallTimeoutMs);
    stall.unref();
    const stop = () => clearTimeout(stall);
    this.req.on('data', () => stall.refresh());
    this.req.on('end', stop);
    shaper.on('close', stop);
    this.req.on('error', (e) => shaper.destroy(e));
    // A client that left while the request waited (an onRequest hook, an injected latency, a
    // handler's own awaits) destroyed it before anyone listened: no 'error' or 'end' will
    // come, and the handler would hold its temp file (and, past stop(), the emulator) until
    // the stall timeout. Its body can no longer arrive: fail now.
    const lost = () => {
      if (!this.req.readableEnded) shaper.destroy(new ConnectionLost('the client went away before the request body arrived'));
    };
    if (this.req.destroyed) lost();
    else this.req.on('close', lost);
    return this.req.pipe(shaper);
  }

  /** Reads and discards the body (before answering an error to an upload). */
  async drain(): Promise<void> {
    if (this.req.readableEnded) return;
    const body = this.body();
    body.resume();
    await new Promise<void>((resolve) => {
      body.on('end', resolve);
      body.on('error', () => resolve());
      body.on('close', resolve);
    });
  }

  /** Reads a JSON request body: `{}` when empty, 400 bad_json when not an object. */
  async readJson(): Promise<Params> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.body()) {
      size += (chunk as Buffer).length;
      if (size > MAX_JSON_BODY_BYTES) throw badRequest('request body is too large');
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (text === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new B2ApiError(400, 'bad_json', 'request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new B2ApiError(400, 'bad_json', 'request body must be a JSON object');
    }
    return parsed as Params;
  }

  async sendJson(status: number, value: unknown, headers: Record<string, string | number> = {}): Promise<void> {
    const body = Buffer.from(JSON.stringify(value), 'utf8');
    await this.send(status, {'Content-Type': 'application/json;charset=utf-8', ...headers}, body.length, Readable.from([body]));
  }

  async sendError(err: B2ApiError): Promise<void> {
    this.stats.error(err.code);
    const headers: Record<string, string | number> = {};
    if (err.retryAfter !== undefined) headers['Retry-After'] = err.retryAfter;
    if (this.head) {
      await this.send(err.status, headers, 0, undefined);
      return;
    }
    await this.sendJson(err.status, err.body(), headers);
  }

  /** Writes status, headers and (unless HEAD) the body through the fault shaper. */
  async send(status: number, headers: Record<string, string | number>, length: number, body: Readable | undefined): Promise<void> {
    if (this.answered) throw new Error('answered twice');
    this.answered = true;
    // A file's b2-cache-control (in `headers`) replaces the default, as B2 documents.
    this.res.writeHead(status, {'Cache-Control': 'max-age=0, no-cache, no-store', ...headers, 'Content-Length': length});
    if (this.head || !body) {
      body?.destroy();
      this.res.end();
      return;
    }
    const shaper = createShaper({
      cutAfterBytes: this.fault.cutResponseAfterBytes,
      bytesPerSecond: this.fault.bytesPerSecond,
      onBytes: (n) => this.stats.bytesOut(n),
      onCut: () => {
        this.stats.fault('cut_response');
        this.res.socket?.destroy();
      },
    });
    await pipeline(body, shaper, this.res).catch(() => this.res.socket?.destroy());
  }
}
