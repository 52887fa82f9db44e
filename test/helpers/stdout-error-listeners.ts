import {afterAll} from '@jest/globals';

// @oclif/core adds an 'error' listener to process.stdout when its command module is
// evaluated. Jest evaluates modules afresh for every test file but keeps the worker's one
// stdout, so each file that loads oclif in-process left one more listener behind, and
// after ten Node warned of a leak (MaxListenersExceededWarning) that no CLI process has:
// each file takes away the listeners it added.
const before = new Set(process.stdout.listeners('error'));

afterAll(() => {
  for (const listener of process.stdout.listeners('error')) {
    if (!before.has(listener)) process.stdout.off('error', listener as (...args: unknown[]) => void);
  }
});
