import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {spawn} from 'node:child_process';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {createServer, type Server, type Socket} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot} from '../helpers/run-cli.js';

// An endpoint that accepts connections and never answers: the worst case for a command
// still connecting. Ctrl-C (or a service manager's SIGTERM, or a closed terminal's SIGHUP) must end it cleanly, not
// leave it waiting out minutes of timeouts and retries.
describe('interrupting a command while it connects', () => {
  let server: Server;
  let dir: string;
  const sockets = new Set<Socket>();
  let connected = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'b2-interrupt-'));
    server = createServer((s) => {
      connected++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const {port} = server.address() as {port: number};
    await writeFile(
      join(dir, 'profiles.yaml'),
      `profiles:\n  silent:\n    keyId: 0051234abcd0000000000001\n    applicationKey: env:SILENT_KEY\n    bucket: silent-bucket\n    endpoint: http://127.0.0.1:${port}\n`,
      {mode: 0o600},
    );
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((done) => server.close(done));
    await rm(dir, {recursive: true, force: true});
  });

  // 128 + the signal's number, as a shell reports it
  const exitCodes = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    test(`${signal} ends b2 list with exit ${exitCodes[signal]} and one line, while authorization hangs`, async () => {
      const before = connected;
      const child = spawn(process.execPath, [join(cliRoot, 'bin/run.js'), 'b2', 'list', '--profile', 'silent', '--config', join(dir, 'profiles.yaml')], {
        env: {...cleanEnv(), SILENT_KEY: 'K005silentsilentsilentsilent', XDG_CONFIG_HOME: join(dir, 'c'), XDG_DATA_HOME: join(dir, 'd'), XDG_CACHE_HOME: join(dir, 'e')},
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // signal only once the CLI is inside its authorize call
      while (connected === before) await new Promise((r) => setTimeout(r, 50));
      child.kill(signal);
      const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
      expect(code).toBe(exitCodes[signal]);
      expect(stderr.trim().split('\n')).toEqual(['Error: list interrupted; nothing was changed']);
    });
  }
});
