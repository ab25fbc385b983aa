/** A sentence of a text: `text.slice(start, end)`, UTF-16 offsets, surrounding whitespace left out. */
export interface SentenceSpan {
  readonly start: number;
  readonly end: number;
}

/** Sentences found, and whether the text went on past the limit. */
export interface SplitSentences {
  readonly sentences: readonly SentenceSpan[];
  /** True when the text had more than `limit` sentences; only the first `limit` are returned. */
  readonly truncated: boolean;
}

const terminators = '.!?';
// Closing quotes and brackets stay with the sentence they end: `He said "no." Then…`.
const closers = '"\')]}»”’';

/**
 * Splits a text into sentences by one simple rule, in a single linear pass (no regular
 * expression that could backtrack over a megabyte of dots):
 * - a blank line always ends a sentence, and so does a single line break, unless the next line
 *   goes on in lower case: that is a line wrapped by layout (PDF and OCR text), not a new sentence;
 * - a run of `.`, `!` or `?` (with any closing quotes or brackets after it) ends one when
 *   whitespace and an upper-case letter follow, or nothing but whitespace does.
 * So `e.g. this` and `3.14` stay whole, and `Dr. Smith` is (wrongly, but predictably) split.
 * Stops after `limit` sentences, so a pathological text costs at most one scan.
 */
export function splitSentences(text: string, limit = Number.POSITIVE_INFINITY): SplitSentences {
  const sentences: SentenceSpan[] = [];
  let segmentStart = 0;
  let i = 0;
  const add = (start: number, end: number): boolean => {
    const span = trimmed(text, start, end);
    if (span !== undefined) {
      if (sentences.length === limit) return false;
      sentences.push(span);
    }
    return true;
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n' || c === '\r') {
      // The whole run of whitespace is read once, so the scan stays linear.
      let k = i;
      let breaks = 0;
      while (k < text.length && /\s/u.test(text[k] as string)) {
        if (text[k] === '\n' || (text[k] === '\r' && text[k + 1] !== '\n')) breaks += 1;
        k += 1;
      }
      if (breaks < 2 && k < text.length && startsLowerCase(text, k)) {
        i = k;
        continue;
      }
      if (!add(segmentStart, i)) return { sentences, truncated: true };
      segmentStart = k;
      i = k;
      continue;
    }
    if (terminators.includes(c)) {
      let j = i;
      while (j < text.length && terminators.includes(text[j] as string)) j += 1;
      while (j < text.length && closers.includes(text[j] as string)) j += 1;
      let k = j;
      while (k < text.length && isInlineSpace(text[k] as string)) k += 1;
      // A line break after the terminator is handled on the next step.
      if (k === text.length || (k > j && startsUpperCase(text, k))) {
        if (!add(segmentStart, j)) return { sentences, truncated: true };
        segmentStart = j;
      }
      i = Math.max(j, i + 1);
      continue;
    }
    i += 1;
  }
  if (!add(segmentStart, text.length)) return { sentences, truncated: true };
  return { sentences, truncated: false };
}

function isInlineSpace(c: string): boolean {
  return c !== '\n' && c !== '\r' && /\s/u.test(c);
}

function startsUpperCase(text: string, at: number): boolean {
  const code = text.codePointAt(at);
  return code !== undefined && /\p{Lu}/u.test(String.fromCodePoint(code));
}

function startsLowerCase(text: string, at: number): boolean {
  const code = text.codePointAt(at);
  return code !== undefined && /\p{Ll}/u.test(String.fromCodePoint(code));
}

function trimmed(text: string, start: number, end: number): SentenceSpan | undefined {
  let s = start;
  let e = end;
  while (s < e && /\s/u.test(text[s] as string)) s += 1;
  while (e > s && /\s/u.test(text[e - 1] as string)) e -= 1;
  return s === e ? undefined : { start: s, end: e };
}

/** A UTF-16 length at most `max` that does not split a surrogate pair. */
export function safeCut(text: string, start: number, max: number): number {
  if (max <= 0) return start;
  let end = Math.min(text.length, start + max);
  const last = text.charCodeAt(end - 1);
  if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return end;
}
