import path from 'node:path';
import { type ErrorCode, asCapserveError } from '../../core/errors.js';
import { PocketsphinxRecognizer } from './pocketsphinx.js';
import { DEFAULT_CHUNK_SECONDS, type SpeechSpec } from './speech-spec.js';
import { type SpeechRecognizer } from './types.js';
import { WhisperRecognizer } from './whisper.js';

/** How an error names a configured path: as written when relative, by its file name when absolute. */
function configuredLabel(setting: string, configured: string): string {
  return `${setting} (${path.isAbsolute(configured) ? `…/${path.basename(configured)}` : configured})`;
}

/**
 * Loads the speech-to-text backend a capabilities file's `speech` section names. Paths in it are
 * relative to `configDir`, the folder of the capabilities file.
 * @throws CapserveError MODEL_LOAD_FAILED when the backend's program, package or model file is
 *   missing or broken (naming what to install, or the setting and path at fault).
 */
export async function createRecognizer(spec: SpeechSpec, configDir: string): Promise<SpeechRecognizer> {
  if (spec.backend === 'pocketsphinx') {
    return PocketsphinxRecognizer.open({
      language: spec.language,
      ...(spec.modelDir === undefined ? {} : { modelDir: path.resolve(configDir, spec.modelDir) }),
      ...(spec.binary === undefined ? {} : { binary: spec.binary }),
    });
  }
  return WhisperRecognizer.open({
    file: path.resolve(configDir, spec.model),
    label: configuredLabel('speech.model', spec.model),
    language: spec.language,
    threads: spec.threads,
  });
}

/** What {@link loadSpeech} found: a loaded recognizer, or why transcription is unavailable. */
export type SpeechAvailability =
  | {
      readonly recognizer: SpeechRecognizer;
      /** Seconds of audio per `transcribe` call, from the file or the default (30). */
      readonly chunkSeconds: number;
      readonly unavailable?: undefined;
    }
  | {
      readonly recognizer?: undefined;
      readonly chunkSeconds?: undefined;
      /** Why, fit for a client: "no speech backend is configured", or the load error's message. */
      readonly unavailable: string;
      /** The load error's code (MODEL_LOAD_FAILED); absent when no backend is configured. */
      readonly code?: ErrorCode;
    };

/** Why transcription is unavailable without a `speech` section. */
export const NO_SPEECH_BACKEND = 'no speech backend is configured (the "speech" section of the capabilities file)';

/**
 * Loads the configured recognizer, never throwing: a missing backend makes transcription
 * unavailable with its reason (as a model that does not load makes its capabilities
 * unavailable), and the server starts without it.
 */
export async function loadSpeech(spec: SpeechSpec | undefined, configDir: string): Promise<SpeechAvailability> {
  if (spec === undefined) return { unavailable: NO_SPEECH_BACKEND };
  try {
    const recognizer = await createRecognizer(spec, configDir);
    return { recognizer, chunkSeconds: spec.chunkSeconds ?? DEFAULT_CHUNK_SECONDS };
  } catch (error) {
    const coded = asCapserveError(error, 'MODEL_LOAD_FAILED');
    return { unavailable: coded.message, code: coded.code };
  }
}
