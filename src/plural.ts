/** A noun as a count of it asks for: "backup" for 1, "backups" otherwise (the nouns of messages are regular). */
export function plural(n: number, noun: string): string {
  return n === 1 ? noun : `${noun}s`;
}

/** A count and its noun, "1 backup", "2 backups": what messages print instead of "backup(s)". */
export function count(n: number, noun: string): string {
  return `${n} ${plural(n, noun)}`;
}
