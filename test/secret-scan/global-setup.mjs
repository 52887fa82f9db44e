import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

/** One capture directory per jest run; the workers (started after this) inherit the variable. */
export default function globalSetup() {
  process.env.B2_TEST_CAPTURE_DIR = mkdtempSync(join(tmpdir(), 'b2-secret-capture-'));
}
