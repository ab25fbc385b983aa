import { SpeechHolder } from '../models/speech/speech-holder.js';
import { type JobsSpeech, type SpeechSource } from './types.js';

/**
 * Transcription as a {@link SpeechSource}: a source as it is (the server's, which a reload
 * changes), or a fixed recognizer (a queue worker's, a test's) held as one that never changes.
 */
export function speechSource(speech: JobsSpeech | SpeechSource | undefined): SpeechSource {
  if (speech !== undefined && 'acquire' in speech) return speech;
  return new SpeechHolder(speech ?? {});
}
