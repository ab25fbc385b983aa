/** Speech-to-text backends work on 16 kHz mono signed 16-bit PCM. */
export const SPEECH_SAMPLE_RATE = 16_000;

/** One recognised stretch of speech; times in seconds from the start of the audio given. */
export interface SpeechSegment {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** 0 to 1 where the backend reports one. */
  readonly confidence?: number;
}

/**
 * A speech-to-text backend, loaded once and kept resident. `transcribe` takes one chunk of
 * audio (seconds to a minute); the caller cuts long audio into chunks and offsets the times.
 */
export interface SpeechRecognizer {
  /** `pocketsphinx` or `whisper`. */
  readonly backend: string;
  /** The language it recognises, as configured (e.g. `en-us`, `en`). */
  readonly language: string;
  /**
   * Transcribes 16 kHz mono PCM. Aborting `signal` stops the work at once and rejects with the
   * signal's reason. Silence gives `[]`, never an error.
   */
  transcribe(pcm: Int16Array, options: { readonly signal: AbortSignal }): Promise<SpeechSegment[]>;
  close(): Promise<void>;
}
