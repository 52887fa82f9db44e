import {isMap, isScalar, isSeq, visit, type Document, type LineCounter} from 'yaml';

/**
 * The 1-based line a path into the document points at: the line of the deepest key
 * that exists. A wrong value is reported on its own key's line; a missing field on the
 * line of the profile that lacks it; an unknown field on its own line.
 */
export function lineOfPath(doc: Document, lines: LineCounter, path: ReadonlyArray<PropertyKey>): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(step));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number' && node.items[step] !== undefined) {
      node = node.items[step];
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return lines.linePos(offset).line;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as {range?: [number, number, number]} | null)?.range;
  return range?.[0];
}

/**
 * The offset of the first key that repeats one before it in the same mapping, or
 * undefined. Linear, unlike yaml's uniqueKeys option, which compares every pair of
 * keys (a file of 10,000 profiles took seconds).
 */
export function firstDuplicateKey(doc: Document): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const text = isScalar(pair.key) ? `s:${String(pair.key.value)}` : `n:${String(pair.key)}`;
        if (seen.has(text)) {
          found = rangeStart(pair.key) ?? 0;
          return visit.BREAK;
        }
        seen.add(text);
      }
      return undefined;
    },
  });
  return found;
}
