import {hostname} from 'node:os';

/** A prefix unlikely to be shared: this machine's name. */
export function suggestedPrefix(host = hostname()): string {
  const name = host.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${name || 'backups'}/`;
}
