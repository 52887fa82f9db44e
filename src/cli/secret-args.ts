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
