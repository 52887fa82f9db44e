import {Agent as HttpAgent, type ClientRequestArgs} from 'node:http';
import {Agent as HttpsAgent} from 'node:https';
import type {Socket} from 'node:net';
import type {Duplex} from 'node:stream';

/**
 * How long a TCP connection may take to be made. A host that drops packets (a firewall,
 * a wrong address) otherwise leaves each attempt waiting for the request timeout (a
 * minute) before the retry policy even sees a failure. Long enough for a slow link and
 * two lost SYNs; two attempts of it make the "about 10 s" of an unreachable endpoint.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 4000;

/** The error code of a connection that was not made in time (a connect failure: see failure.ts). */
export const CONNECT_TIMEOUT_CODE = 'ECONNECT_TIMEOUT';

export interface Agents {
  httpAgent: HttpAgent;
  httpsAgent: HttpsAgent;
}

/**
 * Keep-alive agents (as Node's global ones) whose sockets fail with ECONNECT_TIMEOUT when
 * the connection is not made within `ms` (name lookup included). Once connected, the
 * socket is the request timeout's business as before.
 */
export function connectTimeoutAgents(ms: number): Agents {
  const options = {keepAlive: true, scheduling: 'lifo' as const, timeout: 5000};
  return {httpAgent: withConnectTimeout(new HttpAgent(options), ms), httpsAgent: withConnectTimeout(new HttpsAgent(options), ms)};
}

function withConnectTimeout<A extends HttpAgent>(agent: A, ms: number): A {
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void) => {
    const socket = create(options, callback) as Socket | null | undefined;
    if (!socket || !socket.connecting) return socket;
    const where = `${options.host ?? options.hostname ?? 'localhost'}:${options.port ?? ''}`;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect to ${where} timed out after ${ms} ms`), {code: CONNECT_TIMEOUT_CODE})), ms);
    const done = () => clearTimeout(timer);
    socket.once('connect', done);
    socket.once('close', done);
    return socket;
  };
  return agent;
}
