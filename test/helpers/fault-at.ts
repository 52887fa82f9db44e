import type {RunningEmulator} from '../../src/emulator/index.js';
import type {FaultRule} from '../../src/emulator/types.js';

/**
 * A fault on one exact request: the emulator's request hook counts the requests of a call
 * and adds `rule` as the nth arrives (the hook runs before faults are decided, so that
 * very request gets it). Fault rules match by call name only; this picks, e.g., the
 * metadata file's b2_copy_file after the archive's. Pass `onRequest` to startEmulator.
 */
export class FaultAt {
  private armed?: {emu: RunningEmulator; call: string; nth: number; rules: FaultRule[]; seen: number};

  readonly onRequest = (call: string): void => {
    const a = this.armed;
    if (!a || call !== a.call || ++a.seen !== a.nth) return;
    for (const rule of a.rules) a.emu.faults.add(rule);
    this.armed = undefined;
  };

  /** From now on, the nth request of `call` (counted from 1) and any later ones the rules match get `rules`. */
  arm(emu: RunningEmulator, call: string, nth: number, ...rules: FaultRule[]): void {
    this.armed = {emu, call, nth, rules, seen: 0};
  }

  /** Disarms, and removes every fault rule of `emu`. */
  clear(emu: RunningEmulator): void {
    this.armed = undefined;
    emu.faults.clear();
  }
}
