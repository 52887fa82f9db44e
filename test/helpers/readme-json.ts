import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {repoRoot} from './host-cli.js';

/**
 * The JSON shapes README.md gives for `--json` output, as written there in code spans:
 * `{a, "b", c: {d, e}, f: [{g}], …backup}` or `[backup]`. A field with a nested object or
 * list of objects is followed into it; a field with any other value (`true`, `[ids]`,
 * `{…}`) is a leaf. `…NAME` spreads the fields of a named shape (a backup) into an object,
 * and `[NAME]` / `[NAMEs]` is a list of it.
 */
export type Shape = ObjectShape | {kind: 'list'; of?: Shape};

export interface ObjectShape {
  kind: 'object';
  /** Where these fields were written (a command, or a named shape they were spread from): a field is seen once per owner. */
  owner: string;
  fields: Map<string, {owner: string; shape?: Shape}>;
}

/** README's text with every run of white space made one space (code spans and sentences wrap across lines). */
export function readmeText(): string {
  return readFileSync(join(repoRoot, 'README.md'), 'utf8').replace(/\s+/g, ' ');
}

/** The first `{…}` or `[…]` code span after `marker`, which must occur exactly once. */
export function shapeTextAfter(readme: string, marker: string): string {
  const at = readme.indexOf(marker);
  if (at < 0 || readme.indexOf(marker, at + 1) >= 0) throw new Error(`README: ${at < 0 ? 'no' : 'more than one'} ${JSON.stringify(marker)}`);
  const span = /`([{[][^`]*)`/.exec(readme.slice(at + marker.length));
  if (!span) throw new Error(`README: no JSON shape after ${JSON.stringify(marker)}`);
  return span[1];
}

/** Parses one shape; `named` are the shapes `…NAME` and `[NAME]` stand for. */
export function parseShape(text: string, owner: string, named: Record<string, ObjectShape> = {}): Shape {
  const tokens = text.match(/…\w*|"[^"]*"|[{}[\],:]|[^\s{}[\],:"]+/g) ?? [];
  let at = 0;
  const next = () => tokens[at++];
  const expect = (t: string) => {
    if (next() !== t) throw new Error(`README shape ${JSON.stringify(text)}: expected ${t} at token ${at}`);
  };
  const value = (path: string): Shape | undefined => {
    if (tokens[at] === '{') return object(path);
    if (tokens[at] === '[') {
      next();
      const of = tokens[at] === ']' ? undefined : value(`${path}[]`);
      expect(']');
      return {kind: 'list', of};
    }
    const word = next();
    return named[word] ?? named[word.replace(/s$/, '')]; // a named shape, else a leaf
  };
  const object = (path: string): Shape | undefined => {
    expect('{');
    const shape: ObjectShape = {kind: 'object', owner: path, fields: new Map()};
    let described = true;
    while (tokens[at] !== '}') {
      const token = next();
      if (token === undefined) throw new Error(`README shape ${JSON.stringify(text)}: no closing }`);
      if (token.startsWith('…')) {
        const spread = named[token.slice(1)];
        if (spread) for (const [key, field] of spread.fields) shape.fields.set(key, field);
        else described = false; // `{…}`: some object, not described: a leaf
      } else {
        const key = token.replace(/^"|"$/g, '');
        const nested = tokens[at] === ':' ? (next(), value(`${path}.${key}`)) : undefined;
        shape.fields.set(key, {owner: path, shape: nested});
      }
      if (tokens[at] === ',') next();
    }
    expect('}');
    return described ? shape : undefined;
  };
  const shape = value(owner);
  if (!shape || at !== tokens.length) throw new Error(`README shape ${JSON.stringify(text)} is not one object or list`);
  return shape;
}

/** Every field a shape documents, as "OWNER.field" (a named shape's fields once, under its name). */
export function documentedFields(shape: Shape | undefined, out = new Set<string>()): Set<string> {
  if (shape?.kind === 'list') return documentedFields(shape.of, out);
  if (shape?.kind !== 'object') return out;
  for (const [key, field] of shape.fields) {
    const id = `${field.owner}.${key}`;
    if (out.has(id)) continue;
    out.add(id);
    documentedFields(field.shape, out);
  }
  return out;
}

/**
 * Checks a printed value against its shape: every field printed must be documented
 * (`undocumented` gets "PATH.field" otherwise), and each documented field printed is
 * added to `seen` (as documentedFields names it). null stands for any object.
 */
export function checkPrinted(shape: Shape, value: unknown, path: string, seen: Set<string>, undocumented: string[]): void {
  if (value === null) return;
  if (shape.kind === 'list') {
    if (!Array.isArray(value)) undocumented.push(`${path}: printed ${typeof value}, README says a list`);
    else if (shape.of) for (const item of value) checkPrinted(shape.of, item, `${path}[]`, seen, undocumented);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    undocumented.push(`${path}: printed ${Array.isArray(value) ? 'a list' : typeof value}, README says an object`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const field = shape.fields.get(key);
    if (!field) {
      undocumented.push(`${path}.${key}`);
      continue;
    }
    seen.add(`${field.owner}.${key}`);
    if (field.shape) checkPrinted(field.shape, v, `${path}.${key}`, seen, undocumented);
  }
}
