import {createHash} from 'node:crypto';
import {mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs';
import Module from 'node:module';
import {dirname, join, sep} from 'node:path';
import {Script} from 'node:vm';

/** The parts of the CommonJS loader this uses (stable across Node 18-22, but not typed). */
interface Loader {
  prototype: {_compile(this: LoadedModule, content: string, filename: string, format?: string): unknown};
  wrap(source: string): string;
  _resolveFilename(request: string, parent: LoadedModule, isMain: boolean, options?: unknown): string;
  _resolveLookupPaths(request: string, parent: LoadedModule): string[] | null;
  _extensions: unknown;
  _cache: unknown;
}
interface LoadedModule {
  exports: unknown;
  require(id: string): unknown;
}

export interface CodeCacheStats {
  /** Modules whose compiled code came from the cache. */
  hits: number;
  /** Modules compiled, whose code is written to the cache at exit. */
  misses: number;
}

/**
 * A V8 code cache for the CommonJS libraries a standalone run loads (oclif, axios, yaml,
 * lodash…: ~220 modules whose compiling costs ~35 ms of every command's start), what
 * Node 22's module.enableCompileCache() does and Node 20 lacks. Each library module is
 * compiled with the code V8 produced for it in an earlier run; a module compiled afresh
 * has its code written to `dir` when the process exits (atomically, one file per module,
 * named by the module's path and file status, so a changed file is compiled again; V8
 * itself refuses code from another V8 version or for another source length).
 *
 * Left to Node's own loader: modules outside node_modules, ES modules, and any source with
 * `import(` (a script compiled from cached code cannot import dynamically on Node 20). A
 * failure to read or write the cache only costs the time it would have saved.
 */
export function enableCodeCache(dir: string, opts: {report?: (stats: CodeCacheStats) => void} = {}): CodeCacheStats {
  const loader = Module as unknown as Loader;
  const compile = loader.prototype._compile;
  const stats: CodeCacheStats = {hits: 0, misses: 0};
  const produced: Array<{file: string; script: Script}> = [];
  const inLibrary = `${sep}node_modules${sep}`;

  loader.prototype._compile = function (this: LoadedModule, content: string, filename: string, format?: string) {
    if (!filename.includes(inLibrary) || format === 'module' || mayImport(content)) return compile.call(this, content, filename, format);
    const file = cacheFileOf(dir, filename);
    if (file === undefined) return compile.call(this, content, filename, format);
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(file);
    } catch {
      cachedData = undefined;
    }
    let script: Script;
    try {
      script = new Script(loader.wrap(content), {filename, cachedData});
    } catch {
      return compile.call(this, content, filename, format); // not CommonJS after all: Node's loader decides
    }
    if (cachedData && !script.cachedDataRejected) stats.hits++;
    else {
      stats.misses++;
      produced.push({file, script});
    }
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, requireFor(loader, this), this, filename, dirname(filename));
  };

  const flagsAtStart = flagProbe();
  process.once('exit', () => {
    opts.report?.(stats);
    // V8 stamps cached code with its flags: after a change (a transfer's heap flag,
    // heap-room.ts) every entry written now would be rejected by the next start, and
    // would replace a good one
    if (produced.length === 0 || !flagsAtStart.unchanged()) return;
    try {
      mkdirSync(dir, {recursive: true, mode: 0o700});
      for (const {file, script} of produced) {
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData(), {mode: 0o600});
        renameSync(tmp, file);
      }
    } catch {
      // a read-only install or a full disk: the next run compiles again
    }
  });
  return stats;
}

/**
 * Cached code of a tiny script, made now: whether V8 still accepts it later tells whether
 * its flags changed meanwhile. The later compile takes another file name, or V8 would
 * answer it from its in-memory compilation cache without looking at the cached data.
 */
function flagProbe(): {unchanged: () => boolean} {
  const source = '0';
  const cachedData = new Script(source, {filename: 'code-cache-flag-probe'}).createCachedData();
  return {unchanged: () => !new Script(source, {filename: 'code-cache-flag-check', cachedData}).cachedDataRejected};
}

/**
 * Whether a source may call import(): `import` followed by optional white space and "(".
 * A plain search (a regular expression over ~3 MB of library sources cost ~30 ms); a
 * false positive only means that module is compiled without the cache.
 */
export function mayImport(content: string): boolean {
  for (let at = content.indexOf('import'); at !== -1; at = content.indexOf('import', at + 6)) {
    let next = at + 6;
    while (next < content.length && /\s/.test(content[next])) next++;
    if (content[next] === '(') return true;
  }
  return false;
}

/**
 * The cache file of a module: by path, size, inode, mtime and ctime. A reinstalled or
 * edited file gets a new one even when a package manager or tar keeps the old mtime
 * (ctime cannot be set back) and the size stays the same (all V8 itself checks).
 */
function cacheFileOf(dir: string, filename: string): string | undefined {
  try {
    const st = statSync(filename);
    return join(dir, createHash('sha1').update(`${filename}\0${st.size}\0${st.ino}\0${st.mtimeMs}\0${st.ctimeMs}`).digest('hex'));
  } catch {
    return undefined;
  }
}

/** The `require` a module gets, as Node's loader makes it. */
function requireFor(loader: Loader, mod: LoadedModule): NodeJS.Require {
  const require = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: {paths?: string[]}) => loader._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => loader._resolveLookupPaths(request, mod);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = loader._extensions as NodeJS.Require['extensions'];
  require.cache = loader._cache as NodeJS.Require['cache'];
  return require;
}
