#!/usr/bin/env node
// Memory and throughput of the B2 provider's uploads (issue 4's benchmark; not a test).
// Compiles the provider and the emulator from src/ into a temp dir, runs the emulator in
// its own process (data in its memory, or on disk with --disk), then uploads a 1 GiB file by path and the same bytes
// through stdin from a separate uploading process, and prints that process's peak RSS
// (the kernel's maxRSS) and throughput.
//   node bench/provider-memory.mjs [--size-mib 1024] [--part-mb 100] [--concurrency 4] [--disk]
import {execFile, spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {createReadStream, createWriteStream} from 'node:fs';
import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {once} from 'node:events';
import {promisify} from 'node:util';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sizeMiB = arg('size-mib', 1024);
const partSize = arg('part-mb', 100) * 1_000_000;
const concurrency = arg('concurrency', 4);
const repo = resolve(new URL('..', import.meta.url).pathname);
const work = await mkdtemp(join(tmpdir(), 'b2-bench-'));
const out = join(work, 'out');

async function compile() {
  await writeFile(join(work, 'tsconfig.json'), JSON.stringify({
    extends: join(repo, 'tsconfig.json'),
    compilerOptions: {outDir: out, rootDir: repo, noEmitOnError: false, declaration: false, sourceMap: false},
    files: [join(repo, 'src/b2/index.ts'), join(repo, 'src/b2/backblaze-b2.d.ts'), join(repo, 'src/emulator/index.ts')],
    include: [],
  }));
  await promisify(execFile)(join(repo, 'node_modules/.bin/tsc'), ['-p', join(work, 'tsconfig.json')]).catch((e) => {
    if (/src\/(b2|emulator)\//.test(String(e.stdout))) throw new Error(String(e.stdout));
  });
  await writeFile(join(out, 'package.json'), '{"type": "module"}');
  await symlink(join(repo, 'node_modules'), join(out, 'node_modules'));
  await writeFile(join(out, 'emulator.mjs'), `
    import {startEmulator} from './src/emulator/index.js';
    const emu = await startEmulator({port: 0, dataDir: process.argv[2] || undefined});
    process.stdout.write(JSON.stringify({url: emu.url, keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket}) + '\\n');
    process.on('SIGTERM', async () => { await emu.stop(); process.exit(0); });
  `);
  await writeFile(join(out, 'upload.mjs'), `
    import {B2Backend} from './src/b2/index.js';
    const [conn, mode, path, partSize, concurrency, key] = process.argv.slice(2);
    const c = JSON.parse(conn);
    const b = await B2Backend.open({...c, endpoint: c.url, prefix: 'bench/', partSize: Number(partSize), concurrency: Number(concurrency)});
    const t0 = performance.now();
    const info = await b.put(key, mode === 'stdin' ? process.stdin : {path});
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(JSON.stringify({size: info.size, sha1: info.sha1, seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024}) + '\\n');
  `);
}

async function makeFile(path) {
  const block = randomBytes(16 * 1024 * 1024);
  const ws = createWriteStream(path);
  for (let i = 0; i < sizeMiB / 16; i++) if (!ws.write(block)) await once(ws, 'drain');
  ws.end();
  await once(ws, 'finish');
}

async function firstLine(child) {
  let buf = '';
  for await (const chunk of child.stdout) {
    buf += chunk;
    if (buf.includes('\n')) return JSON.parse(buf.slice(0, buf.indexOf('\n')));
  }
  throw new Error('child ended without answering');
}

async function upload(conn, mode, path, key) {
  const child = spawn(process.execPath, [join(out, 'upload.mjs'), JSON.stringify(conn), mode, path, String(partSize), String(concurrency), key], {stdio: ['pipe', 'pipe', 'inherit']});
  if (mode === 'stdin') createReadStream(path).pipe(child.stdin);
  else child.stdin.end();
  return firstLine(child);
}

let emulator;
try {
  console.log(`compiling provider and emulator into ${work} …`);
  await compile();
  const path = join(work, 'source.bin');
  await makeFile(path);
  await mkdir(join(work, 'emulator-data'));
  const dataDir = process.argv.includes('--disk') ? join(work, 'emulator-data') : '';
  emulator = spawn(process.execPath, [join(out, 'emulator.mjs'), dataDir], {stdio: ['ignore', 'pipe', 'inherit']});
  const conn = await firstLine(emulator);
  const mib = (n) => n / 1024 / 1024;
  console.log(`source ${sizeMiB} MiB, parts ${partSize / 1e6} MB, concurrency ${concurrency}, emulator pid ${emulator.pid} at ${conn.url}`);
  for (const mode of ['file', 'stdin']) {
    const r = await upload(conn, mode, path, `${mode}.bin`);
    const target = mode === 'file' ? 200 : mib((concurrency + 1) * partSize) + 100;
    console.log(`${mode.padEnd(5)} upload: ${mib(r.size).toFixed(0)} MiB in ${r.seconds.toFixed(1)} s = ${(mib(r.size) / r.seconds).toFixed(1)} MiB/s; peak RSS of the uploading process ${r.peakRssMiB.toFixed(0)} MiB (target < ${target.toFixed(0)} MiB) ${r.peakRssMiB < target ? 'OK' : 'OVER'}; sha1 ${r.sha1}`);
  }
} finally {
  emulator?.kill('SIGTERM');
  if (emulator) await once(emulator, 'exit').catch(() => undefined);
  await rm(work, {recursive: true, force: true});
}
