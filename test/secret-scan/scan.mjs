// The secret scan shared by the suite-wide jest globalTeardown and the DEBUG tour test.
// Plain JavaScript: jest loads globalSetup/globalTeardown without the ts-jest transform.
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';

/** Shapes no output may contain: an emulator (or B2) application key, and an emulator authorization token. */
export const SECRET_SHAPES = [
  {what: 'an application key', pattern: /K00\d[A-Za-z0-9]{27}/},
  {what: 'an authorization token', pattern: /[234]_002_[A-Za-z0-9]{8}[A-Za-z0-9_-]{32}/},
];

/**
 * What holds keys by design, never scanned: the profiles file (the user's keystore) and
 * the embedded store's own state, which keeps the key it provisioned for the `local`
 * profile (as B2 keeps its keys; its tokens are kept only as hashes).
 */
export const KEYSTORE = /\.ya?ml$/;
const KEYSTORE_DIR = 'embedded-b2';

/**
 * Pieces of each known secret such that any leaked run of 2×PIECE-1 or more characters
 * contains a whole piece: with 8, any 15 characters of a 31-character key are found.
 */
const PIECE = 8;
export function needles(secrets) {
  const out = new Set();
  for (const s of secrets) {
    if (s.length < PIECE * 2) continue; // short test keys are never echoed by construction (see src/redact.ts)
    for (let i = 0; i + PIECE <= s.length; i += PIECE) out.add(s.slice(i, i + PIECE));
    out.add(s.slice(-PIECE));
  }
  return [...out];
}

/**
 * The pieces as one matcher (made once per pieces array): a piece can only lie in a run of
 * 8 or more characters that occur in the secrets, so the text is read once, by one regular
 * expression, and only those runs are looked up, 8 characters at a time, in a set (one
 * indexOf per piece over every buffer was ~6 s of the suite's end).
 */
const matchers = new WeakMap();
function matcherOf(pieces) {
  let matcher = matchers.get(pieces);
  if (!matcher) {
    // the windows looked up are PIECE characters long: a piece of another length would never match
    const odd = pieces.find((piece) => piece.length !== PIECE);
    if (odd !== undefined) throw new Error(`findLeaks: pieces must be ${PIECE} characters long, as needles() makes them (one is ${odd.length})`);
    const chars = [...new Set(pieces.join(''))].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    matcher = {pieces: new Set(pieces), runs: chars === '' ? undefined : new RegExp(`[${chars}]{${PIECE},}`, 'g')};
    matchers.set(pieces, matcher);
  }
  return matcher;
}

/** Where each piece first occurs in text (pieces absent are not in the map). */
function firstOccurrences(text, pieces) {
  const {pieces: wanted, runs} = matcherOf(pieces);
  const found = new Map();
  if (!runs) return found;
  runs.lastIndex = 0;
  for (let run = runs.exec(text); run; run = runs.exec(text)) {
    for (let at = run.index; at + PIECE <= runs.lastIndex; at++) {
      const window = text.slice(at, at + PIECE);
      if (wanted.has(window) && !found.has(window)) found.set(window, at);
    }
  }
  return found;
}

/** What leaked in one buffer: the label, the kind, and where (never the secret itself). */
export function findLeaks(label, buf, pieces) {
  const leaks = [];
  const text = buf.toString('latin1');
  const found = firstOccurrences(text, pieces);
  for (const p of pieces) if (found.has(p)) leaks.push(`${label}: a piece of a known secret at byte ${found.get(p)}`);
  for (const {what, pattern} of SECRET_SHAPES) {
    const m = pattern.exec(text);
    if (m) leaks.push(`${label}: ${what} at byte ${m.index}`);
  }
  return leaks;
}

/** Every regular file under dir (keystores left out), as [path, bytes]. */
export function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (n !== KEYSTORE_DIR) walk(p);
      }
      else if (st.isFile() && !KEYSTORE.test(n)) out.push([p, readFileSync(p)]);
    }
  };
  walk(dir);
  return out;
}
