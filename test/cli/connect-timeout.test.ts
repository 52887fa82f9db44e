import {afterAll, beforeAll, describe, test} from '@jest/globals';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {blackhole} from '../helpers/blackhole.js';
import {refusedPort} from '../helpers/refused-port.js';
import {runCli} from '../helpers/run-cli.js';
import {expectFailure} from '../e2e/helpers.js';

// The real CLI against an endpoint that drops packets (the connection is never made) and
// one that refuses: the same one line, exit 1. B2_CONNECT_TIMEOUT makes the wait short here.

const KEY = 'K005connectTimeoutTestKey0000000000';
let dir: string;
let hole: Awaited<ReturnType<typeof blackhole>>;
let refused: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b2-connect-'));
  hole = await blackhole();
  refused = await refusedPort();
  const profile = (port: number) => `    keyId: 005abcdef0000000000000001\n    applicationKey: ${KEY}\n    bucket: some-bucket\n    prefix: backups/\n    endpoint: http://127.0.0.1:${port}\n`;
  await writeFile(join(dir, 'profiles.yaml'), `profiles:\n  dropped:\n${profile(hole.port)}  refused:\n${profile(refused)}`, {mode: 0o600});
});
afterAll(async () => {
  hole?.close();
  await rm(dir, {recursive: true, force: true});
});

const list = (profile: string, env: Record<string, string> = {}) => runCli(['b2', 'list', '--profile', profile, '--config', join(dir, 'profiles.yaml')], {env});

describe('an endpoint that cannot be reached', () => {
  test('packets dropped: two attempts of B2_CONNECT_TIMEOUT each, then "cannot reach …: is the endpoint right?", exit 1', async () => {
    const r = await list('dropped', {B2_CONNECT_TIMEOUT: '0.5'});
    expectFailure(r, 1, new RegExp(`^Error: cannot reach http://127\\.0\\.0\\.1:${hole.port}: is the endpoint right\\? \\(ECONNECT_TIMEOUT \\(connect to 127\\.0\\.0\\.1:${hole.port} timed out after 500 ms\\); 2 attempts, none connected\\); check the profile's endpoint and the network$`), [KEY]);
  });

  test('connection refused: the same line', async () => {
    const r = await list('refused');
    expectFailure(r, 1, new RegExp(`^Error: cannot reach http://127\\.0\\.0\\.1:${refused}: is the endpoint right\\? \\(ECONNREFUSED .*; 4 attempts, none connected\\); check the profile's endpoint and the network$`), [KEY]);
  });

  test('a B2_CONNECT_TIMEOUT that is not a number of seconds: one line, exit 2', async () => {
    const r = await list('dropped', {B2_CONNECT_TIMEOUT: 'soon'});
    expectFailure(r, 2, /^Error: B2_CONNECT_TIMEOUT="soon" is not a number of seconds; set it to e\.g\. 4 or 0\.5/, [KEY]);
  });
});
