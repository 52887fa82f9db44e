/** File info with its keys lower-cased: B2 takes info names case-insensitively (and may answer them lower-cased). */
export function lowerKeys(r: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Whether two file infos say the same: the same names (whatever their case) with the same values. */
export function sameFileInfo(a: Record<string, string> = {}, b: Record<string, string> = {}): boolean {
  const norm = (r: Record<string, string>) => JSON.stringify(Object.entries(lowerKeys(r)).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return norm(a) === norm(b);
}
