import {Args} from '@oclif/core';

/** The ID argument of show, verify, delete (and download): validated by the command before it connects. */
export const backupIdArg = Args.string({required: true, description: 'backup id as "b2 list" prints it, a unique prefix of one (like git), or "latest" for the newest'});
