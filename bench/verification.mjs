#!/usr/bin/env node
/**
 * What each client does with a damaged stored copy: the same file is uploaded by this CLI
 * and by rclone to the emulator, one byte of each stored copy is then flipped (the
 * emulator's corrupt(): B2 still records the original SHA1), and both download it to
 * stdout and to a file. Reports, per client and target: exit code, whether the bytes
 * delivered are the original ones, and whether a file was left. It explains what the
 * speed comparisons in results.md compare: a verified download against one that may not be.
 *
 *   node bench/verification.mjs [--size-mib N]   (needs a build; rclone on PATH)
 */
import {spawn} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {userEnv} from './lib/user-env.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const sizeArg = process.argv.indexOf('--size-mib');
// over 250 MiB rclone's copyto would use its multi-thread streams (its --multi-thread-cutoff)
const sizeMiB = sizeArg > 0 ? Number(process.argv[sizeArg + 1]) : 8;
const {startEmulator} = await import(join(repo, 'dist', 'src', 'emulator', 'index.js'));

const work = await mkdtemp(join(tmpdir(), 'b2-verification-'));
const emu = await startEmulator({port: 0});
const env = {
  ...userEnv(work, ['RCLONE_']),
  RCLONE_CONFIG: join(work, 'rclone.conf'), // none: the remote comes from the environment
  RCLONE_CONFIG_EMU_TYPE: 'b2', RCLONE_CONFIG_EMU_ACCOUNT: emu.keyId, RCLONE_CONFIG_EMU_KEY: emu.applicationKey, RCLONE_CONFIG_EMU_ENDPOINT: emu.url,
};

/**
 * Runs a command without blocking this process (the emulator answers from it): its exit
 * code, stderr, the SHA1 of its stdout and, with `keep`, its stdout as text.
 */
function run(argv, {keep = false} = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {env, stdio: ['ignore', 'pipe', 'pipe']});
    const hash = createHash('sha1');
    const kept = [];
    let stderr = '';
    let bytes = 0;
    child.stdout.on('data', (d) => (hash.update(d), (bytes += d.length), keep && kept.push(d)));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({code, stdoutSha1: hash.digest('hex'), stdoutBytes: bytes, stdout: Buffer.concat(kept).toString('utf8'), stderr}));
  });
}

const sha1Of = async (path) => createHash('sha1').update(await readFile(path)).digest('hex');
const exists = (path) => stat(path).then(() => true, () => false);
/** rclone's version line, or undefined when it is not on PATH. */
async function rcloneVersion() {
  const r = await run(['rclone', 'version'], {keep: true}).catch(() => undefined);
  return r?.code === 0 ? r.stdout.split('\n')[0] : undefined;
}

const b2 = (args, o) => run([process.execPath, join(repo, 'bin', 'run.js'), 'b2', ...args], o);

try {
  const source = join(work, 'source.bin');
  const data = randomBytes(sizeMiB * 1024 * 1024);
  await writeFile(source, data);
  const original = createHash('sha1').update(data).digest('hex');
  const added = await b2(['profile', 'add', 'emu', '--key-id', emu.keyId, '--application-key', emu.applicationKey, '--bucket', emu.bucket, '--endpoint', emu.url, '--prefix', 'ours/', '--no-check']);
  if (added.code !== 0) throw new Error(`profile add: ${added.stderr}`);
  const uploaded = await b2(['upload', source, '--name', 'verification', '--json', '--profile', 'emu'], {keep: true});
  if (uploaded.code !== 0) throw new Error(`b2 upload: ${uploaded.stderr}`);
  const {id, archiveKey} = JSON.parse(uploaded.stdout);
  const version = await rcloneVersion();
  if (version) {
    const rcUp = await run(['rclone', 'copyto', source, `emu:${emu.bucket}/rc/source.bin`, '-q']);
    if (rcUp.code !== 0) throw new Error(`rclone copyto: ${rcUp.stderr}`);
  }

  // damage: one byte of each stored copy flipped, B2's record of its SHA1 kept
  await emu.corrupt(emu.bucket, `ours/${archiveKey}`);
  if (version) await emu.corrupt(emu.bucket, 'rc/source.bin');

  const rows = [];
  const report = async (client, target, r, file) => {
    const delivered = file ? ((await exists(file)) ? await sha1Of(file) : undefined) : r.stdoutSha1;
    const length = file ? ((await exists(file)) ? (await stat(file)).size : 0) : r.stdoutBytes;
    const firstError = r.stderr.split('\n').find((l) => /error|mismatch|corrupt/i.test(l)) ?? '';
    rows.push({client, target, exit: r.code, bytes: delivered === undefined ? 'no file left' : `${delivered === original ? 'the original' : 'not the original'}, ${length} of ${data.length} bytes`, says: firstError.replace(/\s+/g, ' ').slice(0, 140)});
  };
  await report('this CLI', 'stdout (download -o -)', await b2(['download', id, '-o', '-', '--profile', 'emu']));
  const ourFile = join(work, 'ours.bin');
  await report('this CLI', 'a file (download -o FILE)', await b2(['download', id, '-o', ourFile, '--profile', 'emu']), ourFile);
  if (version) {
    await report('rclone', 'stdout (cat)', await run(['rclone', 'cat', `emu:${emu.bucket}/rc/source.bin`, '-q']));
    const theirFile = join(work, 'rclone.bin');
    await report('rclone', 'a file (copyto)', await run(['rclone', 'copyto', `emu:${emu.bucket}/rc/source.bin`, theirFile, '-q']), theirFile);
  }
  console.log(`A ${sizeMiB} MiB file with one byte flipped in its stored copy (B2's recorded SHA1 unchanged); ${version ?? 'rclone not on PATH'}\n`);
  console.log('| client | downloads to | exit | bytes delivered | first error line |');
  console.log('|---|---|---:|---|---|');
  for (const r of rows) console.log(`| ${r.client} | ${r.target} | ${r.exit} | ${r.bytes} | ${r.says.replace(/\|/g, '\\|')} |`);
} finally {
  await emu.stop();
  await rm(work, {recursive: true, force: true});
}

