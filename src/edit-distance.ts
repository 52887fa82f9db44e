/**
 * Edit distance for "did you mean": how many one-character edits (insert, delete,
 * replace, or swap two neighbours: the commonest slip, "hmoe" for "home") turn a into b.
 * Levenshtein's with transpositions (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let row = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) next[j] = Math.min(next[j], before[j - 2] + 1);
    }
    before = row;
    row = next;
  }
  return row[b.length];
}

/**
 * The candidate a mistyped `typed` most likely meant: the nearest within about one edit
 * in three characters (at least one), ties to the first; undefined when none is that close.
 */
export function closest(typed: string, candidates: string[]): string | undefined {
  let best: {name: string; distance: number} | undefined;
  for (const name of candidates) {
    const distance = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && (!best || distance < best.distance)) best = {name, distance};
  }
  return best?.name;
}
