/** One piece of the audio, cut for the recognizer. */
export interface AudioChunk {
  /** 0, 1, 2, … in order. */
  readonly index: number;
  /** Where it starts in the whole audio, in seconds. */
  readonly startSec: number;
  /** Its own copy of the samples (the chunker reuses its buffer). */
  readonly pcm: Int16Array;
}

export interface AudioChunkOptions {
  /** The most audio in one chunk. @default 30 */
  readonly chunkSeconds?: number;
  /** How far back from a window's end the cut may move to find a quiet moment. @default 5, at most a third of a chunk */
  readonly searchSeconds?: number;
  /** The short frame whose energy is compared. @default 0.02 (20 ms) */
  readonly frameSeconds?: number;
  /** @default 16000 */
  readonly sampleRate?: number;
}

/**
 * Cuts mono s16le PCM (as ffmpeg writes it, in pieces of any length, odd byte counts included)
 * into chunks of at most `chunkSeconds`, each cut at the quietest short frame in the last
 * `searchSeconds` of its window, so a cut lands in a pause between words rather than inside
 * one: a recognizer given half a word guesses two wrong ones.
 *
 * Memory is one window of samples whatever the length of the audio: the window is a fixed
 * buffer, what follows a cut moves to its front, and a chunk is a copy of the part before it.
 */
export async function* audioChunks(pcm: AsyncIterable<Buffer>, options: AudioChunkOptions = {}): AsyncGenerator<AudioChunk, void, undefined> {
  const rate = options.sampleRate ?? 16_000;
  const windowSamples = Math.max(1, Math.round((options.chunkSeconds ?? 30) * rate));
  const searchSamples = Math.min(Math.round((options.searchSeconds ?? 5) * rate), Math.floor(windowSamples / 3));
  const frameSamples = Math.max(1, Math.min(Math.round((options.frameSeconds ?? 0.02) * rate), searchSamples));
  const window = new Int16Array(windowSamples);
  let filled = 0;
  let startSample = 0;
  let index = 0;
  let oddByte: number | undefined;

  const cut = (at: number): AudioChunk => {
    const chunk = { index: index++, startSec: startSample / rate, pcm: window.slice(0, at) };
    window.copyWithin(0, at, filled);
    filled -= at;
    startSample += at;
    return chunk;
  };

  for await (const piece of pcm) {
    let bytes = piece;
    if (oddByte !== undefined) {
      bytes = Buffer.concat([Buffer.from([oddByte]), piece]);
      oddByte = undefined;
    }
    const whole = bytes.length - (bytes.length % 2);
    if (whole < bytes.length) oddByte = bytes[bytes.length - 1];
    let at = 0;
    while (at < whole) {
      const samples = Math.min((whole - at) / 2, windowSamples - filled);
      for (let i = 0; i < samples; i++) window[filled + i] = bytes.readInt16LE(at + i * 2);
      filled += samples;
      at += samples * 2;
      if (filled === windowSamples) yield cut(quietestCut(window, searchSamples, frameSamples));
    }
  }
  // A lone trailing byte is half a sample: nothing to hear.
  if (filled > 0) yield cut(filled);
}

/**
 * Where to cut a full window: the middle of the frame with the least energy (sum of squares) in
 * its last `searchSamples`. Among equally quiet frames (digital silence) the latest wins, so a
 * chunk is as long as it may be; frames step by half their length so a short pause is not
 * straddled.
 */
export function quietestCut(window: Int16Array, searchSamples: number, frameSamples: number): number {
  const end = window.length;
  if (searchSamples < frameSamples) return end;
  const step = Math.max(1, Math.floor(frameSamples / 2));
  let best = end;
  let bestEnergy = Number.POSITIVE_INFINITY;
  for (let start = end - frameSamples; start >= end - searchSamples; start -= step) {
    let energy = 0;
    for (let i = start; i < start + frameSamples; i++) {
      const sample = window[i] ?? 0;
      energy += sample * sample;
    }
    if (energy < bestEnergy) {
      bestEnergy = energy;
      best = start + Math.floor(frameSamples / 2);
    }
  }
  return best;
}
