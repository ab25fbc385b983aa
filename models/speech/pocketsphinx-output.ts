import { type SpeechSegment } from './types.js';

/** `word start end confidence`, as `pocketsphinx_continuous -time yes` prints each word of an utterance. */
const WORD_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/;

interface TimedWord {
  readonly word: string;
  readonly start: number;
  readonly end: number;
  readonly confidence: number;
}

/**
 * Sentence markers (`<s>`, `</s>`), silence (`<sil>`) and fillers (`[NOISE]`, `[SPEECH]`, and
 * the `++NOISE++` spelling of older models) are not words of the transcript.
 */
function isFiller(word: string): boolean {
  return word.startsWith('<') || /^\[.*\]$/.test(word) || /^\+\+.*\+\+$/.test(word);
}

/**
 * The segments in what `pocketsphinx_continuous -time yes` printed: for each utterance a line
 * with its hypothesis, then one line per word. One segment per utterance that has a real word,
 * spanning its first to its last word, with the words joined (pronunciation variants such as
 * `and(2)` lose their suffix) and their mean confidence. Times are seconds from the start of the
 * input, clipped to `[0, durationSec]` and kept in order, since the decoder's frame times can
 * run a frame past the end.
 */
export function parsePocketsphinxOutput(stdout: string, durationSec: number): SpeechSegment[] {
  const utterances: TimedWord[][] = [];
  let current: TimedWord[] | undefined;
  for (const line of stdout.split('\n')) {
    const match = WORD_LINE.exec(line.trim());
    if (match === null) {
      // A hypothesis line opens the next utterance (it may be empty when nothing was heard).
      current = undefined;
      continue;
    }
    const [, word = '', start = '0', end = '0', confidence = '0'] = match;
    if (word === '<s>' || current === undefined) {
      current = [];
      utterances.push(current);
    }
    current.push({ word, start: Number(start), end: Number(end), confidence: Number(confidence) });
  }
  const segments: SpeechSegment[] = [];
  let floor = 0;
  for (const utterance of utterances) {
    const words = utterance.filter((entry) => !isFiller(entry.word));
    const first = words[0];
    const last = words.at(-1);
    if (first === undefined || last === undefined) continue;
    const start = Math.min(Math.max(first.start, floor), durationSec);
    const end = Math.min(Math.max(last.end, start), durationSec);
    floor = end;
    const confidence = words.reduce((sum, entry) => sum + Math.min(Math.max(entry.confidence, 0), 1), 0) / words.length;
    const text = words.map((entry) => entry.word.replace(/\(\d+\)$/, '')).join(' ');
    segments.push({ start, end, text, confidence });
  }
  return segments;
}
