import {TRANSACTION_CLASS} from './constants.js';
import {EmulatorStats, FaultKind} from './types.js';

/** Counters for tests and benchmarks: calls, billed transactions, bytes, errors, names touched per key. */
export class StatsCollector {
  private data = StatsCollector.empty();
  private touched = new Map<string, Set<string>>();

  private static empty(): Omit<EmulatorStats, 'touchedNames'> {
    return {calls: {}, transactions: {A: 0, B: 0, C: 0}, bytesIn: 0, bytesOut: 0, errors: {}, faults: {}};
  }

  call(name: string): void {
    this.data.calls[name] = (this.data.calls[name] ?? 0) + 1;
  }

  error(code: string): void {
    this.data.errors[code] = (this.data.errors[code] ?? 0) + 1;
  }

  fault(kind: FaultKind): void {
    this.data.faults[kind] = (this.data.faults[kind] ?? 0) + 1;
  }

  /** A successful call is billed; listings of names per 1000 returned (at least one). */
  billed(call: string, namesReturned?: number): void {
    const cls = TRANSACTION_CLASS[call];
    if (!cls) return;
    const units = namesReturned === undefined ? 1 : Math.max(1, Math.ceil(namesReturned / 1000));
    this.data.transactions[cls] += units;
  }

  bytesIn(n: number): void {
    this.data.bytesIn += n;
  }

  bytesOut(n: number): void {
    this.data.bytesOut += n;
  }

  touch(keyId: string, name: string): void {
    let names = this.touched.get(keyId);
    if (!names) this.touched.set(keyId, (names = new Set()));
    names.add(name);
  }

  snapshot(): EmulatorStats {
    const copy = JSON.parse(JSON.stringify(this.data)) as EmulatorStats;
    copy.touchedNames = {};
    for (const [keyId, names] of this.touched) copy.touchedNames[keyId] = [...names].sort();
    return copy;
  }

  reset(): void {
    this.data = StatsCollector.empty();
    this.touched.clear();
  }
}
