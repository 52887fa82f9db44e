/**
 * A client that leaves while its request waits (an onRequest hook, as the crash tests use
 * to kill the CLI at a chosen request; or an injected latency) must not leave the request's
 * handler behind: it used to wait out the whole stall timeout for a body that could no
 * longer arrive, holding a temp file, a timer and (past stop()) the stopped emulator.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {watch} from 'node:fs';
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {connect} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, sha1} from './helpers.js';
import {hostPort} from './raw-socket.js';

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
    const tmp = join(dataDir, 'tmp');
    // the upload's temp file comes and (once the handler ends) goes: every name seen there
    const seen = new Set<string>();
    const watcher = watch(tmp, (_event, name) => {
      if (name) seen.add(String(name));
    });
    try {
      const socket = connect(hostPort(emu.url));
      socket.on('error', () => undefined);
      socket.write(
        `POST ${new URL(url.json.uploadUrl).pathname} HTTP/1.1\r\nHost: x\r\nAuthorization: ${url.json.authorizationToken}\r\n` +
          `X-Bz-File-Name: gone.bin\r\nContent-Type: b2/x-auto\r\nX-Bz-Content-Sha1: ${sha1(data)}\r\nContent-Length: ${data.length}\r\n\r\n`,
      );
      socket.write(data.subarray(0, 100));
      await held;
      socket.destroy();
      // answered after the emulator saw the first connection close (the close arrived first)
      expect((await api(emu, token, 'b2_list_buckets', {})).status).toBe(200);
      release();
      const deadline = Date.now() + 30_000; // far below the 60 s stall timeout it must beat, far above a busy machine's delay
      while (!(seen.size > 0 && (await readdir(tmp)).length === 0) && Date.now() < deadline) await sleep(20);
      expect(seen.size).toBeGreaterThan(0); // the handler went on to the body
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      watcher.close();
      release();
    }
    const names = (await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId})).json.files.map((f: {fileName: string}) => f.fileName);
    expect(names).not.toContain('gone.bin');
  });
});
