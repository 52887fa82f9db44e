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
 * named by the module's path, size and mtime, so a changed file is compiled again; V8
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

  process.once('exit', () => {
    opts.report?.(stats);
    if (produced.length === 0) return;
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

/** The cache file of a module: by path, size and mtime (a reinstalled or edited file gets a new one). */
function cacheFileOf(dir: string, filename: string): string | undefined {
  try {
    const st = statSync(filename);
    return join(dir, createHash('sha1').update(`${filename}\0${st.size}\0${st.mtimeMs}`).digest('hex'));
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
