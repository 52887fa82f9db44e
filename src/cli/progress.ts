import cliProgress from 'cli-progress';
import type {TransferProgress} from '../backend.js';
import {humanSize} from '../backups/display.js';

export interface ProgressDisplay {
  update(p: TransferProgress): void;
  stop(): void;
}

const NO_PROGRESS: ProgressDisplay = {update() {}, stop() {}};

/**
 * A progress bar on stderr (bytes, rate, ETA) when stderr is a terminal and output is
 * for people; nothing at all when piped or with --json, so scripts see clean output.
 */
export function progressDisplay(opts: {label: string; total?: number; enabled: boolean; stream?: NodeJS.WriteStream}): ProgressDisplay {
  const stream = opts.stream ?? process.stderr;
  if (!opts.enabled || !stream.isTTY) return NO_PROGRESS;
  const known = opts.total !== undefined && opts.total > 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      hideCursor: true,
      etaBuffer: 20,
      fps: 5,
      format: known ? `{label} {bar} {percentage}% | {done} of {size} | {rate} | ETA {timeLeft}` : `{label} {done} | {rate}`,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = Date.now();
  // the hashing pass before a large upload is its own phase ("Checking"), with its own rate
  let phase: TransferProgress['phase'];
  const payload = (loaded: number) => {
    const perSecond = loaded / Math.max(0.001, (Date.now() - started) / 1000);
    const label = phase === 'hashing' ? 'Checking' : opts.label;
    return {label, done: humanSize(loaded), size: known ? humanSize(opts.total!) : '', rate: `${humanSize(perSecond)}/s`, timeLeft: known ? timeLeft(opts.total! - loaded, perSecond) : ''};
  };
  bar.start(known ? opts.total! : 1, 0, payload(0));
  let running = true;
  return {
    update(p) {
      if (!running) return;
      if (p.phase !== phase) {
        phase = p.phase;
        started = Date.now();
      }
      bar.update(known ? p.loaded : 0, payload(p.loaded));
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** "1m05s", or "--" until there is a rate to go by (cli-progress would print "NFs"). */
function timeLeft(remaining: number, perSecond: number): string {
  if (perSecond <= 0) return '--';
  const s = Math.ceil(remaining / perSecond);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
