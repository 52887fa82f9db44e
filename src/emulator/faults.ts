import {B2ApiError, serviceUnavailable} from './b2-error.js';
import {SeededRandom} from './rng.js';
import {FaultRule} from './types.js';

export const UPLOAD_CALLS = new Set(['b2_upload_file', 'b2_upload_part']);

/** What the fault rules decided for one request. */
export interface FaultDecision {
  error?: B2ApiError;
  cutRequestAfterBytes?: number;
  cutResponseAfterBytes?: number;
  latencyMs: number;
  /** Held after the call was carried out, before its answer goes. */
  answerLatencyMs: number;
  bytesPerSecond?: number;
  expireToken?: boolean;
  /** Where to flip a request body byte, as a fraction of its length (seeded). */
  corruptAtFraction?: number;
  answerFields?: Record<string, unknown>;
  shiftRangeBytes?: number;
}

interface ActiveRule {
  rule: FaultRule;
  remaining: number | undefined;
}

const DEFAULT_FAULT: Record<number, string> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'access_denied', 404: 'not_found', 408: 'request_timeout',
  416: 'range_not_satisfiable', 429: 'too_many_requests', 500: 'internal_error', 503: 'service_unavailable',
};

/**
 * Deterministic fault injection. Rules are checked in the order they were added; every
 * matching rule adds its latency/throttle, the first matching error or cut wins. A rule
 * with `count` stops after that many matches; `rate` draws from the seeded generator.
 */
export class FaultEngine {
  private rules: ActiveRule[] = [];

  constructor(
    private readonly random: SeededRandom,
    private readonly failUploads = 0,
  ) {}

  add(rule: FaultRule): void {
    checkFaultRule(rule);
    this.rules.push({rule: {...rule}, remaining: rule.count});
  }

  clear(): void {
    this.rules = [];
  }

  decide(call: string, testModes: Set<string>): FaultDecision {
    const decision: FaultDecision = {latencyMs: 0, answerLatencyMs: 0};
    for (const active of this.rules) {
      const {rule} = active;
      if (!matches(rule.call, call)) continue;
      if (active.remaining !== undefined && active.remaining <= 0) continue;
      const failing = decision.error !== undefined || decision.cutRequestAfterBytes !== undefined || decision.cutResponseAfterBytes !== undefined ||
        decision.expireToken === true || decision.corruptAtFraction !== undefined || decision.answerFields !== undefined || decision.shiftRangeBytes !== undefined;
      const fails = rule.status !== undefined || rule.code !== undefined || rule.cutRequestAfterBytes !== undefined || rule.cutResponseAfterBytes !== undefined ||
        rule.expireToken === true || rule.corruptRequestBody === true || rule.answerFields !== undefined || rule.shiftRangeBytes !== undefined;
      const shapes = Boolean(rule.latencyMs || rule.answerLatencyMs || rule.bytesPerSecond);
      // A rule with nothing left to add (an earlier rule already fails this request) is not used up.
      if (!shapes && (!fails || failing)) continue;
      if (rule.rate !== undefined && !this.random.chance(rule.rate)) continue;
      if (active.remaining !== undefined) active.remaining -= 1;
      decision.latencyMs += rule.latencyMs ?? 0;
      decision.answerLatencyMs += rule.answerLatencyMs ?? 0;
      if (rule.bytesPerSecond) decision.bytesPerSecond = rule.bytesPerSecond;
      if (!fails || failing) continue;
      if (rule.cutRequestAfterBytes !== undefined) decision.cutRequestAfterBytes = rule.cutRequestAfterBytes;
      if (rule.cutResponseAfterBytes !== undefined) decision.cutResponseAfterBytes = rule.cutResponseAfterBytes;
      if (rule.status !== undefined || rule.code !== undefined) decision.error = ruleError(rule);
      else if (rule.expireToken) decision.expireToken = true;
      else if (rule.corruptRequestBody) decision.corruptAtFraction = this.random.next();
      else if (rule.answerFields) decision.answerFields = {...rule.answerFields};
      else if (rule.shiftRangeBytes !== undefined) decision.shiftRangeBytes = rule.shiftRangeBytes;
    }
    if (!decision.error && UPLOAD_CALLS.has(call)) decision.error = this.uploadFault(testModes);
    return decision;
  }

  private uploadFault(testModes: Set<string>): B2ApiError | undefined {
    if (testModes.has('force_cap_exceeded')) return new B2ApiError(403, 'cap_exceeded', 'Cap exceeded.');
    const rate = Math.max(this.failUploads, testModes.has('fail_some_uploads') ? 0.25 : 0);
    if (rate > 0 && this.random.chance(rate)) return serviceUnavailable('service unavailable (emulated failure)');
    return undefined;
  }
}

/** The X-Bz-Test-Mode header's modes (clients may send several, comma-separated). */
export function parseTestModes(header: string | string[] | undefined): Set<string> {
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  return new Set(raw.split(',').map((s) => s.trim()).filter(Boolean));
}

function matches(ruleCall: string, call: string): boolean {
  return ruleCall === '*' || ruleCall === call || (ruleCall === 'uploads' && UPLOAD_CALLS.has(call));
}

const FAULT_FIELDS: Record<string, 'int' | 'fraction' | 'string' | 'boolean' | 'object'> = {
  call: 'string', count: 'int', rate: 'fraction', status: 'int', code: 'string', message: 'string', retryAfter: 'int',
  cutRequestAfterBytes: 'int', cutResponseAfterBytes: 'int', latencyMs: 'int', answerLatencyMs: 'int', bytesPerSecond: 'int',
  expireToken: 'boolean', corruptRequestBody: 'boolean',
  // A successful answer with fields replaced (a server that misreports what it did); used by the upload tests.
  answerFields: 'object',
  // A ranged download answered from further on than asked (a cache or proxy in front of B2); used by the download tests.
  shiftRangeBytes: 'int',
};

/** A rule with an unknown field or a value of the wrong kind is refused whole, naming the field. */
export function checkFaultRule(rule: FaultRule): void {
  if (typeof rule !== 'object' || rule === null) throw new Error('a fault rule must be an object');
  if (typeof rule.call !== 'string' || rule.call === '') throw new Error('a fault rule needs a call name, "uploads" or "*"');
  for (const [field, value] of Object.entries(rule)) {
    const kind = Object.hasOwn(FAULT_FIELDS, field) ? FAULT_FIELDS[field] : undefined;
    if (!kind) throw new Error(`unknown fault rule field "${field}" (known: ${Object.keys(FAULT_FIELDS).join(', ')})`);
    if (value === undefined) continue;
    const ok = kind === 'int' ? Number.isInteger(value) && (value as number) >= 0
      : kind === 'fraction' ? typeof value === 'number' && value >= 0 && value <= 1
        : kind === 'object' ? typeof value === 'object' && value !== null && !Array.isArray(value)
          : typeof value === kind;
    if (!ok) throw new Error(`fault rule field "${field}" must be ${kind === 'int' ? 'a whole number >= 0' : kind === 'fraction' ? 'a fraction 0..1' : kind === 'object' ? 'a JSON object' : `a ${kind}`}`);
  }
  if (rule.status !== undefined && (rule.status < 400 || rule.status > 599)) throw new Error('fault rule field "status" must be an error status 400..599');
}

function ruleError(rule: FaultRule): B2ApiError {
  const status = rule.status ?? 503;
  const code = rule.code ?? DEFAULT_FAULT[status] ?? 'internal_error';
  const retryAfter = rule.retryAfter ?? (status === 429 ? 1 : undefined);
  return new B2ApiError(status, code, rule.message ?? `${code} (injected fault)`, retryAfter);
}
