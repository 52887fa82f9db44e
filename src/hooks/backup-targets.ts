import type {Hook} from '@oclif/core';
import {cliPrefix} from '../cli/cli-prefix.js';
import {b2TargetRegistration} from '../target.js';

/**
 * Answers the host's `this.config.runHook('backup:targets', {})` with the `b2` target.
 * Inside a host, `this.config` is the host's: profiles and embedded data live in the
 * host's config and data dirs.
 */
const hook: Hook<'backup:targets'> = async function () {
  return b2TargetRegistration({configDir: this.config.configDir, dataDir: this.config.dataDir, cli: cliPrefix(this.config)});
};

export default hook;
