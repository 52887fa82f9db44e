import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {b2TargetRegistration} from '../../src/target.js';
import {EMBEDDED_UPLOAD_CUTOFF} from '../../src/connect.js';
import {describeBackendConformance} from '../conformance/backend-conformance.js';

// The backend a host gets from the b2 target for `endpoint: embedded`: the emulator
// in-process with its data on disk (blobs, journal, snapshot), held by the same generic
// contract as B2 itself. Its multi-MB body is above the embedded cutoff, so it goes up in
// parts written to disk.
describeBackendConformance(
  'the b2 target on the embedded store (data on disk)',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'b2-embedded-conformance-'));
    const target = b2TargetRegistration({configDir: join(dir, 'config'), dataDir: join(dir, 'data')});
    const backend = await target.create({keyId: 'embedded', applicationKey: 'embedded', bucket: 'conformance', endpoint: 'embedded', prefix: 'conformance/'});
    return {backend, teardown: () => rm(dir, {recursive: true, force: true})};
  },
  // pages of the listing are the emulator's concern (test/b2/conformance.test.ts seeds thousands); here each key is a put on disk
  {largeSize: EMBEDDED_UPLOAD_CUTOFF + 1_000_017, manyKeys: 300, hides: true},
);
