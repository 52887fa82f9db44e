/** A noun as a count of it asks for: "backup" for 1, "backups" otherwise (the nouns of messages are regular). */
export function plural(n: number, noun: string): string {
  return n === 1 ? noun : `${noun}s`;
}

/** A count and its noun, "1 backup", "2 backups": what messages print instead of "backup(s)". */
export function count(n: number, noun: string): string {
  return `${n} ${plural(n, noun)}`;
}

/** Every one of n: "all 3 backups", but "the only backup" for 1 ("all 1 backup" reads as a mistake). */
export function everyOne(n: number, noun: string): string {
  return n === 1 ? `the only ${noun}` : `all ${count(n, noun)}`;
}
