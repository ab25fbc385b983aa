import path from 'node:path';
import { asCapserveError } from '../../core/errors.js';
import { createRecognizer, loadSpeech, NO_SPEECH_BACKEND } from './create-recognizer.js';
import { SpeechHolder } from './speech-holder.js';
import { DEFAULT_CHUNK_SECONDS, POCKETSPHINX_MODEL_ROOT, type SpeechSpec } from './speech-spec.js';

/** What a reload did to transcription. */
export type SpeechChange =
  /** The section is as it was: the loaded backend (or its absence) stays. */
  | 'none'
  /** A new backend loaded and replaced the old one (running transcriptions finish on the old). */
  | 'loaded'
  /** The section is gone: transcription is unavailable once running transcriptions finish. */
  | 'removed'
  /** The backend was already unavailable for a load error and still does not load: it stays unavailable, with the new reason. */
  | 'unavailable';

/** A loaded (not yet swapped in) speech change: the reload commits it once everything else loaded, or discards it. */
export interface PreparedSpeech {
  readonly change: SpeechChange;
  /** Makes the change current; the replaced recognizer closes after its running transcriptions. */
  commit(): void;
  /** Closes what was loaded for the change (the reload was rejected after all). */
  discard(): Promise<void>;
}

/**
 * A `speech` section as the backend would load it: every default filled in and every path
 * resolved against `configDir`, so two sections that load the same backend have the same key
 * (a path written relative or absolute, a default written out or left out).
 */
export function speechKey(spec: SpeechSpec | undefined, configDir: string): string {
  if (spec === undefined) return 'none';
  const chunkSeconds = spec.chunkSeconds ?? DEFAULT_CHUNK_SECONDS;
  if (spec.backend === 'pocketsphinx') {
    const modelDir = spec.modelDir === undefined ? path.join(POCKETSPHINX_MODEL_ROOT, spec.language) : path.resolve(configDir, spec.modelDir);
    return JSON.stringify(['pocketsphinx', spec.language, modelDir, spec.binary ?? 'pocketsphinx_continuous', chunkSeconds]);
  }
  return JSON.stringify(['whisper', path.resolve(configDir, spec.model), spec.language, spec.threads, chunkSeconds]);
}

/** The speech backend a capabilities file names, loaded (or unavailable with its reason) and held for replacement. */
export async function openSpeech(spec: SpeechSpec | undefined, configDir: string, onCloseError?: (error: unknown) => void): Promise<SpeechHolder> {
  return new SpeechHolder(await loadSpeech(spec, configDir), { key: speechKey(spec, configDir), ...(onCloseError === undefined ? {} : { onCloseError }) });
}

const unchanged: PreparedSpeech = { change: 'none', commit: () => {}, discard: async () => {} };

/**
 * Loads what a reloaded `speech` section names, beside the running backend, following the rule
 * a reload follows for models: a change may not make unavailable what serves now.
 *
 * - The same section (by {@link speechKey}) keeps the loaded backend: nothing is loaded again.
 *   One that failed to load is tried again (its file may have been put in place since).
 * - A removed section makes transcription unavailable, as a capability removed from the file
 *   stops being served.
 * - A new backend that loads replaces the old one on `commit()`.
 * - A new backend that does not load rejects the reload (its load error, MODEL_LOAD_FAILED,
 *   is thrown and the running backend stays), unless transcription is already unavailable for a
 *   load error: then it stays unavailable with the new reason, so one broken backend does not
 *   block every later reload (as a capability already unavailable may stay so).
 * @throws CapserveError MODEL_LOAD_FAILED when the new backend does not load and the reload must be rejected.
 */
export async function prepareSpeech(holder: SpeechHolder, spec: SpeechSpec | undefined, configDir: string): Promise<PreparedSpeech> {
  const key = speechKey(spec, configDir);
  const running = holder.current();
  const failedBefore = running.recognizer === undefined && running.code !== undefined;
  if (key === holder.key && !failedBefore) return unchanged;
  if (spec === undefined) {
    return {
      change: 'removed',
      commit: () => void holder.replace({ unavailable: NO_SPEECH_BACKEND }, key),
      discard: async () => {},
    };
  }
  try {
    const recognizer = await createRecognizer(spec, configDir);
    return {
      change: 'loaded',
      commit: () => void holder.replace({ recognizer, chunkSeconds: spec.chunkSeconds ?? DEFAULT_CHUNK_SECONDS }, key),
      discard: () => recognizer.close(),
    };
  } catch (error) {
    const coded = asCapserveError(error, 'MODEL_LOAD_FAILED');
    if (!failedBefore) throw coded;
    return { change: 'unavailable', commit: () => void holder.replace({ unavailable: coded.message, code: coded.code }, key), discard: async () => {} };
  }
}

/** What a reload says about transcription: the change, and the backend now (or why there is none). */
export interface SpeechReport {
  readonly change: SpeechChange;
  readonly backend?: string;
  readonly language?: string;
  /** Why transcription is unavailable now. */
  readonly unavailable?: string;
}

export function speechReport(change: SpeechChange, holder: SpeechHolder): SpeechReport {
  const { recognizer, unavailable } = holder.current();
  if (recognizer !== undefined) return { change, backend: recognizer.backend, language: recognizer.language };
  return { change, ...(unavailable === undefined ? {} : { unavailable }) };
}
