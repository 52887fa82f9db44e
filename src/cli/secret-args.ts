/**
 * Flags whose value is a secret, in every command that has them (`profile add`/`update`:
 * both; `emulator`: --application-key). The one list that DEBUG output and the error log
 * redact; test/unit/secret-args.test.ts holds it against every command's flags.
 */
export const SECRET_FLAGS: readonly string[] = ['--application-key', '--encryption-key'];

/** The values of the secret flags in argv, given as `--flag V` or as `--flag=V`. */
export function secretArgs(argv: readonly string[]): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (SECRET_FLAGS.includes(arg)) {
      if (argv[i + 1] !== undefined) values.push(argv[i + 1]);
      return;
    }
    const flag = inlineSecretFlag(arg);
    if (flag) values.push(arg.slice(flag.length + 1));
  });
  return values;
}

/** The secret flag an argument gives its value to inline (`--encryption-key=V`), if any. */
export function inlineSecretFlag(arg: string): string | undefined {
  return SECRET_FLAGS.find((flag) => arg.startsWith(`${flag}=`));
}

/** B2 application keys (31 characters), base64url, and base64 that happens to hold no '/'. */
const NO_SLASH_KEY = /^[A-Za-z0-9_+=-]{20,}$/;
/** Standard base64, padded or not (a multiple of 4 characters). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4}){5,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Whether a command-line argument looks like a key given without its flag name, so that
 * DEBUG output drops it. A '/' is what paths and prefixes are made of, so a base64 key
 * with one is told apart by base64's own shape: a multiple of 4 characters, and either
 * "=" padding (every SSE-C key: 44 characters ending in "=", no path ends so) or, unpadded,
 * upper and lower case and digits and no leading '/' (an absolute path). What still
 * matches by chance is a relative dotless path of 4n characters mixing case and digits;
 * hiding one in debug output is the cheaper mistake.
 */
export function looksLikeKey(arg: string): boolean {
  if (!arg.includes('/')) return NO_SLASH_KEY.test(arg);
  if (!BASE64.test(arg)) return false;
  return arg.endsWith('=') || (!arg.startsWith('/') && /[A-Z]/.test(arg) && /[a-z]/.test(arg) && /\d/.test(arg));
}
