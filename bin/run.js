#!/usr/bin/env node
// Standalone entry (development and the demo). Inside a host CLI the host's own bin runs.
import {execute} from '@oclif/core';

await execute({dir: import.meta.url});
