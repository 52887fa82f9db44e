import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

/**
 * `urls` (modules a process loaded) plus the modules bundled inside any of them: the build
 * bundles each command with what it imports (scripts/bundle.js, which writes the map), so a
 * process loads dist/commands/… and dist/chunks/… files whose code came from dist/src/… and
 * node_modules/…. A module counts as loaded when the file holding its code was.
 */
export function withBundledModules(root: string, urls: string[]): string[] {
  const inputs = JSON.parse(readFileSync(join(root, 'dist', 'bundle-inputs.json'), 'utf8')) as Record<string, string[]>;
  const dist = `${pathToFileURL(join(root, 'dist')).href}/`;
  const bundled = urls.filter((url) => url.startsWith(dist)).flatMap((url) => inputs[url.slice(dist.length)] ?? []);
  return [...urls, ...bundled.map((input) => pathToFileURL(join(root, input)).href)];
}
