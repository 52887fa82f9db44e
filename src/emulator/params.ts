import {badRequest} from './b2-error.js';

/**
 * Readers for call parameters, which come from a JSON body (POST) or a query string
 * (GET, so every value is a string). Clients send `null` for absent optional fields,
 * so null counts as absent everywhere.
 */
export type Params = Record<string, unknown>;

export function optString(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`${name} must be a string`);
  return v;
}

export function reqString(p: Params, name: string): string {
  const v = optString(p, name);
  if (v === undefined || v === '') throw badRequest(`required field ${name} is missing`);
  return v;
}

export function optInt(p: Params, name: string, min: number, max: number, code = 'bad_request'): number | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw badRequest(`${name} must be an integer`);
  if (n < min || n > max) throw badRequest(`${name} out of range: ${n} (allowed ${min}..${max})`, code);
  return n;
}

/** An object field; GET callers pass it as JSON text. */
export function optObject(p: Params, name: string): Record<string, unknown> | undefined {
  let v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') v = parseJsonParam(v, name);
  if (typeof v !== 'object' || Array.isArray(v) || v === null) throw badRequest(`${name} must be an object`);
  return v as Record<string, unknown>;
}

/** A string array; GET callers pass it as JSON text or comma-separated. */
export function optStringArray(p: Params, name: string): string[] | undefined {
  let v = p[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') v = v.trim().startsWith('[') ? parseJsonParam(v, name) : v.split(',').filter((s) => s !== '');
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw badRequest(`${name} must be an array of strings`);
  return v as string[];
}

function parseJsonParam(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`${name} is not valid JSON`);
  }
}
