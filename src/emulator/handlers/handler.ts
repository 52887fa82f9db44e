import {RequestContext} from '../context.js';
import {EmulatorCore} from '../core.js';

/** A JSON call's answer; `names` = file names returned, for class C billing per 1000. */
export interface JsonResult {
  json: unknown;
  names?: number;
}

/** Handlers answer JSON calls by returning a result; downloads answer through ctx themselves. */
export type Handler = (core: EmulatorCore, ctx: RequestContext) => Promise<JsonResult | void>;
