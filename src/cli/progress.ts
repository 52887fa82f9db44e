import {fstatSync} from 'node:fs';
import type {TransferProgress} from '../backend.js';
import {humanSize} from '../backups/display.js';

/** bar: one line redrawn in place (a terminal); log: a plain line every few seconds (cron, log files); none. */
export type ProgressMode = 'bar' | 'log' | 'none';

export interface ProgressDisplay {
  update(p: TransferProgress): void;
  /** Clears the line for good. */
  stop(): void;
}

/** How long the current rate looks back: long enough to be steady, short enough to follow a change. */
const RATE_WINDOW_MS = 5000;
/**
 * A phase's first second is left out of its rate: an upload counts its first bytes as
 * they fill the request buffers (several MiB in a few milliseconds, far ahead of the
 * wire and of any --limit-upload), so a rate that included them would be too high.
 */
const RATE_WARMUP_MS = 1000;
/** The shortest span a rate is measured over; until then the line shows "--/s", never a guess. */
const MIN_RATE_SPAN_MS = 3000;
const REDRAW_MS = 200;
/**
 * How often the display looks at the clock by itself: bytes that stop moving (a stalled
 * link, a retry's backoff, B2 checking a part) send no updates, and the rate shown must
 * still fall to what it is, and a log still get its line every interval.
 */
const TICK_MS = 1000;
export const DEFAULT_LOG_INTERVAL_MS = 10_000;

/** The bar being drawn now, if any: every other line on stderr clears it first. */
const active: {line?: {clear(): void}} = {};

/** Call before writing any line to stderr while a bar may be on screen; the bar redraws on its next update. */
export function clearProgressLine(): void {
  active.line?.clear();
}

/** `auto`: a bar on a terminal; plain lines when stderr is a file (a log); nothing on a pipe. */
export function progressMode(choice: string | undefined, opts: {quiet?: boolean; json?: boolean; stream?: NodeJS.WriteStream}): ProgressMode {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || choice === 'none') return 'none';
  if (choice === 'bar') return stream.isTTY ? 'bar' : 'log';
  if (choice === 'log') return 'log';
  if (opts.json) return 'none';
  if (stream.isTTY) return 'bar';
  return stderrIsFile(stream) ? 'log' : 'none';
}

function stderrIsFile(stream: NodeJS.WriteStream): boolean {
  try {
    return fstatSync((stream as unknown as {fd?: number}).fd ?? 2).isFile();
  } catch {
    return false;
  }
}

export function progressDisplay(opts: {label: string; total?: number; mode: ProgressMode; stream?: NodeJS.WriteStream; intervalMs?: number}): ProgressDisplay {
  const stream = opts.stream ?? process.stderr;
  if (opts.mode === 'none') return {update() {}, stop() {}};
  const meter = new Meter(opts.label, opts.total);
  if (opts.mode === 'log') {
    const interval = opts.intervalMs ?? DEFAULT_LOG_INTERVAL_MS;
    let last = Date.now();
    let lastUpdate = last;
    const writeIfDue = () => {
      if (Date.now() - last < interval) return;
      last = Date.now();
      // a stream's size is unknown: no percentage or ETA, and no empty field between commas
      stream.write(`${meter.parts().filter(Boolean).join(', ')}\n`);
    };
    const ticker = everyTick(() => {
      meter.tick();
      if (Date.now() - lastUpdate >= TICK_MS) writeIfDue();
    });
    return {
      update(p) {
        lastUpdate = Date.now();
        meter.update(p);
        writeIfDue();
      },
      stop: () => clearInterval(ticker),
    };
  }
  const line = new TerminalLine(stream, meter);
  return {update: (p) => line.update(p), stop: () => line.stop()};
}

/** A timer that never keeps the process alive by itself. */
function everyTick(fn: () => void): NodeJS.Timeout {
  const timer = setInterval(fn, TICK_MS);
  timer.unref?.();
  return timer;
}

/** Bytes, percentage, current rate and time left of one transfer (or of its hashing phase). */
class Meter {
  private phase: TransferProgress['phase'];
  private loaded = 0;
  private phaseStart = Date.now();
  private samples: Array<{t: number; loaded: number}> = [];

  constructor(
    private readonly label: string,
    private total: number | undefined,
  ) {}

  /** True when a new phase starts (hashing, then transfer). */
  update(p: TransferProgress): boolean {
    const newPhase = p.phase !== this.phase;
    const now = Date.now();
    if (newPhase) {
      this.phase = p.phase;
      this.phaseStart = now;
      this.samples = [];
    }
    if (p.total !== undefined) this.total = p.total;
    this.loaded = p.loaded;
    this.sample(now);
    return newPhase;
  }

  /** Called every tick: once no update has come for a tick's time, that nothing moved counts too. */
  tick(): void {
    const now = Date.now();
    const last = this.samples[this.samples.length - 1];
    if (last && now - last.t >= TICK_MS) this.sample(now);
  }

  private sample(now: number): void {
    if (now - this.phaseStart < RATE_WARMUP_MS) return;
    this.samples.push({t: now, loaded: this.loaded});
    while (this.samples.length > 2 && now - this.samples[1].t > RATE_WINDOW_MS) this.samples.shift();
  }

  /**
   * Bytes per second over the last few seconds (a moving window, not the average since
   * the start); undefined until the phase has been measured long enough to say.
   */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || last.t - first.t < MIN_RATE_SPAN_MS) return undefined;
    return Math.max(0, (last.loaded - first.loaded) / ((last.t - first.t) / 1000));
  }

  /** [label, amount, percent, rate, eta]; percent and eta are '' when the total is unknown. */
  parts(): [string, string, string, string, string] {
    const known = this.total !== undefined && this.total > 0;
    const rate = this.rate();
    return [
      this.phase === 'hashing' ? 'Checking' : this.label,
      known ? `${humanSize(this.loaded)} of ${humanSize(this.total!)}` : humanSize(this.loaded),
      known ? `${Math.min(100, Math.floor((this.loaded / this.total!) * 100))}%` : '',
      rate === undefined ? '--/s' : `${humanSize(rate)}/s`,
      known ? `ETA ${timeLeft(this.total! - this.loaded, rate)}` : '',
    ];
  }

  fraction(): number | undefined {
    return this.total ? Math.min(1, this.loaded / this.total) : undefined;
  }
}

/**
 * One line redrawn in place that always fits the terminal: the bar shrinks first, then
 * the label and the byte counts go; the rate and time left always stay. Redrawn when
 * the terminal is resized; cleared before any other line is written.
 */
class TerminalLine {
  private drawn = false;
  private lastDraw = 0;
  private stopped = false;
  private readonly onResize = () => this.draw();
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly meter: Meter,
  ) {
    active.line = this;
    stream.on('resize', this.onResize);
    this.ticker = everyTick(() => {
      this.meter.tick();
      if (Date.now() - this.lastDraw >= TICK_MS) this.draw();
    });
    this.draw();
  }

  update(p: TransferProgress): void {
    if (this.stopped) return;
    if (this.meter.update(p) || Date.now() - this.lastDraw >= REDRAW_MS) this.draw();
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    this.clear();
    this.stream.off('resize', this.onResize);
    if (active.line === this) active.line = undefined;
  }

  private draw(): void {
    if (this.stopped) return;
    this.lastDraw = Date.now();
    this.stream.write(`\r${fitLine(this.meter.parts(), this.meter.fraction(), this.stream.columns || 80)}\x1b[K`);
    this.drawn = true;
  }
}

/**
 * The line for a terminal `columns` wide, at most columns - 1 characters (a line that
 * fills the last column wraps on some terminals). Dropped in this order until it fits:
 * bar width (down to 5), the bar, the label, the byte counts, the percentage.
 */
export function fitLine([label, amount, percent, rate, eta]: [string, string, string, string, string], fraction: number | undefined, columns: number): string {
  const room = Math.max(1, columns - 1);
  const tail = [rate, eta].filter(Boolean).join('  ');
  const candidates: Array<Array<string | undefined>> = [
    [label, undefined, percent, amount, tail],
    [label, percent, amount, tail],
    [percent, amount, tail],
    [percent, tail],
    [tail],
  ];
  for (const fields of candidates) {
    const withoutBar = fields.filter((f) => f !== undefined && f !== '').join('  ');
    if (fields.includes(undefined)) {
      if (fraction === undefined) continue;
      const barWidth = Math.min(40, room - withoutBar.length - 2 - 2); // "[" "]" and the gap
      if (barWidth < 5) continue;
      const filled = Math.round(fraction * barWidth);
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
      return fields.map((f) => (f === undefined ? bar : f)).filter((f) => f !== '').join('  ');
    }
    if (withoutBar.length <= room) return withoutBar;
  }
  return tail.slice(0, room);
}

/** "1m05s", or "--" until there is a rate to go by. */
function timeLeft(remaining: number, perSecond: number | undefined): string {
  if (perSecond === undefined || perSecond <= 0) return '--';
  const s = Math.ceil(remaining / perSecond);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
