import {MemoryBackend} from '../../src/memory-backend.js';
import {describeBackendConformance} from '../conformance/backend-conformance.js';

describeBackendConformance('memory', async () => ({backend: new MemoryBackend(), teardown: async () => {}}));
