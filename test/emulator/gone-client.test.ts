/**
 * A client that leaves while its request waits (an onRequest hook, as the crash tests use
 * to kill the CLI at a chosen request; or an injected latency) must not leave the request's
 * handler behind: it used to wait out the whole stall timeout for a body that could no
 * longer arrive, holding a temp file, a timer and (past stop()) the stopped emulator.
 * Nor must an upload that a cutRequestAfterBytes fault cuts after its whole body arrived:
 * its handler used to wait for ever, and its temp file's handle was closed only by the
 * garbage collector (Node's "Closing file descriptor N on garbage collection").
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {watch} from 'node:fs';
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {connect} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw} from './helpers.js';
import {hostPort, rawExchange, rawUploadRequest, type SocketAnswer} from './raw-socket.js';

let emu: RunningEmulator;
let token: string;
let dataDir: string;
/** Runs as each request arrives, before the emulator handles it. */
let hold: ((call: string) => Promise<void>) | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'emu-gone-client-'));
  // the default stall timeout (60 s): a handler that waits it out outlives the test
  emu = await startEmulator({port: 0, dataDir, onRequest: (call) => hold?.(call)});
  token = (await authorizeRaw(emu)).authorizationToken;
});
afterAll(async () => {
  await emu?.stop();
  await rm(dataDir, {recursive: true, force: true});
});

/** Every name that appears in the data dir's tmp/ while `run` runs, and tmp/'s content once the handler is done with it. */
async function tempFilesDuring(run: () => Promise<void>): Promise<{seen: Set<string>; left: string[]}> {
  const tmp = join(dataDir, 'tmp');
  const seen = new Set<string>();
  const watcher = watch(tmp, (_event, name) => {
    if (name) seen.add(String(name));
  });
  try {
    await run();
    const deadline = Date.now() + 30_000; // far below the 60 s stall timeout it must beat, far above a busy machine's delay
    while (!(seen.size > 0 && (await readdir(tmp)).length === 0) && Date.now() < deadline) await sleep(20);
    return {seen, left: await readdir(tmp)};
  } finally {
    watcher.close();
  }
}

async function storedNames(): Promise<string[]> {
  return (await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId})).json.files.map((f: {fileName: string}) => f.fileName);
}

describe('a client that left while its request was held', () => {
  test('its upload ends at once: the temp file is removed, not kept until the stall timeout', async () => {
    const url = await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId});
    const data = Buffer.alloc(1000, 7);
    let arrived!: () => void;
    const held = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    hold = async (call) => {
      if (call !== 'b2_upload_file') return;
      hold = undefined;
      arrived();
      await released;
    };
    const {seen, left} = await tempFilesDuring(async () => {
      try {
        const socket = connect(hostPort(emu.url));
        socket.on('error', () => undefined);
        socket.write(rawUploadRequest({path: new URL(url.json.uploadUrl).pathname, token: url.json.authorizationToken, fileName: 'gone.bin', content: data}));
        socket.write(data.subarray(0, 100));
        await held;
        socket.destroy();
        // answered after the emulator saw the first connection close (the close arrived first)
        expect((await api(emu, token, 'b2_list_buckets', {})).status).toBe(200);
      } finally {
        release();
      }
    });
    expect(seen.size).toBeGreaterThan(0); // the handler went on to the body
    expect(left).toEqual([]);
    expect(await storedNames()).not.toContain('gone.bin');
  });
});

describe('an upload cut by a fault after its whole body arrived', () => {
  test('ends at once: the temp file is removed, nothing is stored, the client sees the connection close', async () => {
    const url = await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId});
    const data = Buffer.alloc(1000, 9);
    // one write: the request's body has ended by the time the cut (at byte 500) closes the socket
    emu.faults.add({call: 'b2_upload_file', count: 1, cutRequestAfterBytes: 500});
    let answer: SocketAnswer | undefined;
    const {seen, left} = await tempFilesDuring(async () => {
      const request = rawUploadRequest({path: new URL(url.json.uploadUrl).pathname, token: url.json.authorizationToken, fileName: 'cut.bin', content: data, body: data});
      answer = await rawExchange(emu.url, [request], {keepOpen: true}); // resolves once the server closes the connection
    });
    expect({raw: answer?.raw, closed: answer?.closed}).toEqual({raw: '', closed: true}); // cut, not answered
    expect(emu.stats().faults.cut_request).toBe(1);
    expect(seen.size).toBeGreaterThan(0);
    expect(left).toEqual([]);
    expect(await storedNames()).not.toContain('cut.bin');
  });
});
