import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {cancelEveryUnfinished, openBackend, type PartsFixture, startPartsFixture, unfinishedCount} from './helpers.js';

// Another command (a cleanup, or a second upload of the same file) cancels or finishes the
// unfinished large file an upload is still writing into. B2 then answers 400 bad_request
// "No active upload for: <fileId>" to its next call on that file: a failure (exit 1; parts
// were sent and billed), not bad input (exit 2: nothing changed), said in words.

const PART = 64 * 1024;
const SIZE = 4 * PART + 77;

let fixture: PartsFixture;
let emu: RunningEmulator;
let backend: B2Backend;
/** The call whose first request cancels the upload's large file (from another client) before the emulator handles it. */
let cancelAt: string | undefined;

beforeAll(async () => {
  fixture = await startPartsFixture({
    tag: 'ended-elsewhere',
    part: PART,
    size: SIZE,
    emulator: {
      onRequest: async (call) => {
        if (call !== cancelAt) return;
        cancelAt = undefined; // once
        await cleanupElsewhere();
      },
    },
  });
  emu = fixture.emu;
});

afterAll(async () => {
  await backend?.close();
  await fixture?.stop();
});

beforeEach(async () => {
  cancelAt = undefined;
  await backend?.close();
  backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
});

/** What a concurrent `b2 cleanup` does. */
const cleanupElsewhere = () => cancelEveryUnfinished(emu);

describe('the unfinished large file cancelled by another command during the upload', () => {
  test.each(['b2_get_upload_part_url', 'b2_upload_part', 'b2_finish_large_file'])('before %s: a failure (exit 1) that says what happened and to run the upload again', async (call) => {
    cancelAt = call;
    const err = await backend.put(`e/${call}.bin`, {path: fixture.path}).catch((e: unknown) => e);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as Error).message).toBe(`the unfinished upload of "backups/e/${call}.bin" was finished or cancelled by another command (e.g. a cleanup, or a second upload of the same file) while this one was still writing it; run the upload again`);
    expect(await unfinishedCount(backend)).toBe(0);
  });
});
