import {Flags} from '@oclif/core';
import {integerFlag} from '../../src/cli/integer-flag.js';
import {once} from 'node:events';
import {PluginCommand} from '../../src/cli/base-command.js';
import {withInterrupt} from '../../src/cli/interrupt.js';
import {jsonText} from '../../src/cli/json-text.js';
import {BackupError} from '../../src/errors.js';
import {unwritable} from '../../src/io-errors.js';
import {checkFaultRule, startEmulator, type FaultRule, type RunningEmulator} from '../../src/emulator/index.js';

/** One --fault value: a JSON fault rule, checked before the emulator starts. */
function parseFaultRule(text: string): FaultRule {
  let rule: FaultRule;
  try {
    rule = JSON.parse(text) as FaultRule;
  } catch {
    throw new BackupError('bad_input', `--fault must be a JSON object such as '{"call":"uploads","rate":0.1,"status":503}', got ${JSON.stringify(text.slice(0, 80))}`);
  }
  try {
    checkFaultRule(rule);
  } catch (e) {
    throw new BackupError('bad_input', `--fault: ${(e as Error).message}`);
  }
  return rule;
}

/** Fixed, so a profile's `endpoint: http://127.0.0.1:8180` keeps working from one start to the next. */
export const EMULATOR_DEFAULT_PORT = 8180;

/** The emulator reads no profiles: no --config. */
export default class Emulator extends PluginCommand {
  static override summary = 'Run a local Backblaze B2 emulator (native API) in the foreground.';
  static override description =
    'Serves the B2 native API (b2api v1-v4) on loopback so that any B2 client, this plugin included, can be tried and tested without an account. ' +
    'It starts with an all-capabilities key and a private bucket and prints them; point a client at the printed URL as its API endpoint. ' +
    'Data lives in memory unless --data-dir is given. Stops cleanly on Ctrl-C, SIGTERM or SIGHUP.';
  static override examples = [
    '<%= config.bin %> b2 emulator                # http://127.0.0.1:8180',
    '<%= config.bin %> b2 emulator --port 8180 --data-dir ./b2-data --key-id myKeyId --application-key mySecret --bucket my-test-bucket',
    '<%= config.bin %> b2 emulator --port 0 --json --fail-uploads 0.1 --seed 7',
    '<%= config.bin %> b2 emulator --file-lock-enabled   # a bucket with Object Lock, for "b2 lock" and --lock-days',
    '<%= config.bin %> b2 emulator --encrypted-by-default   # a bucket as B2 creates them now: uploads get SSE-B2 unless they ask for SSE-C',
    '<%= config.bin %> b2 emulator --fault \'{"call":"uploads","rate":0.1,"status":429,"retryAfter":1}\' --fault \'{"call":"b2_upload_part","rate":0.05,"corruptRequestBody":true}\'',
  ];

  static override flags = {
    port: integerFlag({description: `port to listen on (0 = any free port)`, default: EMULATOR_DEFAULT_PORT, min: 0, max: 65535}),
    host: Flags.string({description: 'address to bind; anything but loopback exposes the emulator to the network', default: '127.0.0.1'}),
    'data-dir': Flags.string({description: 'directory that keeps keys, buckets and files across restarts (default: memory only)'}),
    'key-id': Flags.string({description: 'key id of the bootstrap all-capabilities key (generated when omitted)'}),
    'application-key': Flags.string({description: 'application key of the bootstrap key (generated when omitted)'}),
    bucket: Flags.string({description: 'name of the bootstrap private bucket (generated when omitted)'}),
    'file-lock-enabled': Flags.boolean({description: 'give the bootstrap bucket Object Lock (B2\'s fileLockEnabled), to try "b2 lock", --lock-days and the "lock:" profile field; as on B2, it cannot be turned off again'}),
    'encrypted-by-default': Flags.boolean({
      description: 'make the bootstrap bucket one B2 has enabled for default encryption, as every bucket it creates now (new files get SSE-B2); ' +
        'without it the bucket stands for an existing bucket B2 has not migrated yet (no default encryption); as on B2, it is not turned off again',
    }),
    'min-part-size': integerFlag({description: 'absoluteMinimumPartSize in bytes: every part but the last must be at least this big', default: 5_000_000, min: 1}),
    'recommended-part-size': integerFlag({description: 'recommendedPartSize in bytes, as authorize reports it', default: 100_000_000, min: 1}),
    'fail-uploads': Flags.string({description: 'fraction 0..1 of b2_upload_file / b2_upload_part calls answered 503 service_unavailable', default: '0'}),
    'expire-tokens-every': integerFlag({description: 'every Nth authenticated call answers 401 expired_auth_token (0 = never)', default: 0, min: 0}),
    seed: integerFlag({description: 'seed of the fault decisions, so a run repeats exactly', default: 1, min: 0}),
    fault: Flags.string({
      description: 'a fault rule as JSON, e.g. {"call":"uploads","rate":0.1,"status":503}; fields: call, count, rate, status, code, message, retryAfter, ' +
        'cutRequestAfterBytes, cutResponseAfterBytes, latencyMs, answerLatencyMs, bytesPerSecond, expireToken, corruptRequestBody, shiftRangeBytes, answerFields (repeatable)',
      multiple: true,
    }),
    'stall-timeout-ms': integerFlag({description: 'answer 408 request_timeout when headers take, or a body stalls, this long', default: 60_000, min: 1}),
    json: Flags.boolean({description: 'print one JSON line {"url","keyId","applicationKey","bucket"} instead of text'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parse(Emulator);
    const failUploads = Number(flags['fail-uploads']);
    if (!/^\d*\.?\d+$/.test(flags['fail-uploads']) || !(failUploads >= 0 && failUploads <= 1)) {
      throw new BackupError('bad_input', `--fail-uploads must be a fraction from 0 to 1 (e.g. 0.1), got "${flags['fail-uploads']}"`);
    }
    if ((flags['key-id'] === undefined) !== (flags['application-key'] === undefined)) {
      throw new BackupError('bad_input', 'give --key-id and --application-key together (or neither, to have a key generated)');
    }
    const faults = (flags.fault ?? []).map(parseFaultRule);
    const emu = await this.start({
      port: flags.port,
      host: flags.host,
      dataDir: flags['data-dir'],
      minPartSize: flags['min-part-size'],
      recommendedPartSize: flags['recommended-part-size'],
      failUploads,
      expireTokensEvery: flags['expire-tokens-every'] || undefined,
      seed: flags.seed,
      stallTimeoutMs: flags['stall-timeout-ms'],
      bootstrap: {keyId: flags['key-id'], applicationKey: flags['application-key'], bucket: flags.bucket, fileLockEnabled: flags['file-lock-enabled'], encryptedByDefault: flags['encrypted-by-default']},
    });
    for (const rule of faults) emu.faults.add(rule);
    // The bootstrap key is printed on purpose: it is the emulator's own key and the user needs it.
    if (flags.json) {
      this.log(jsonText({url: emu.url, keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket}, 0)); // one line
    } else {
      this.log(`B2 emulator listening on ${emu.url} (${flags['data-dir'] ? `data in ${flags['data-dir']}` : 'in memory; data is lost on exit'})`);
      this.log(`  endpoint (API URL): ${emu.url}`);
      this.log(`  key id:             ${emu.keyId}`);
      this.log(`  application key:    ${emu.applicationKey}`);
      this.log(`  bucket:             ${emu.bucket}`);
      this.log('Press Ctrl-C to stop.');
    }
    await withInterrupt(async (signal) => {
      if (!signal.aborted) await once(signal, 'abort');
    });
    await emu.stop();
  }

  private async start(opts: Parameters<typeof startEmulator>[0]): Promise<RunningEmulator> {
    try {
      return await startEmulator(opts);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // a --data-dir it cannot create or write (a file system error names its path; a port's does not)
      const local = opts?.dataDir && err.path !== undefined ? unwritable(err, `use --data-dir ${opts.dataDir}`, 'bad_input', 'make that directory writable, or give a --data-dir you may write to') : err;
      if (local !== err) throw local;
      if (err.code === 'EADDRINUSE') throw new BackupError('bad_input', `port ${opts?.port} on ${opts?.host} is already in use: pick another --port (0 = any free port)`);
      if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new BackupError('bad_input', `cannot listen on --host ${opts?.host}: not an address of this machine`);
      if (err.code === 'EACCES') throw new BackupError('bad_input', `not allowed to listen on port ${opts?.port} or use --data-dir ${opts?.dataDir}: pick another`);
      throw new BackupError('bad_input', `cannot start the emulator: ${err.message}`, {cause: e});
    }
  }
}
