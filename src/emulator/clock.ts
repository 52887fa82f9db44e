/**
 * The emulator's one clock: real time plus how far tests moved it (`emu.clock.advance`),
 * which never runs backwards. Everything B2 tells or decides by time reads it: upload
 * timestamps and file IDs, the Date header, token and key expiry, Object Lock retention.
 * Only waits on this process's behalf (stall timeouts, injected latency) use real time.
 */
export class EmulatorClock {
  private offsetMs = 0;

  /** The emulator's time, in ms since the epoch. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`emulator clock.advance(ms) needs a finite number of ms >= 0 (the clock never runs backwards), got ${ms}`);
    this.offsetMs += ms;
  }
}
