import { z } from 'zod';

/** Debian's CMU Sphinx models live in one folder per language: `<modelDir>/<lang>/`, `<lang>.lm.bin`, `cmudict-<lang>.dict`. */
export const POCKETSPHINX_MODEL_ROOT = '/usr/share/pocketsphinx/model';

/** Audio cut into chunks of this many seconds before recognition, unless the file says otherwise. */
export const DEFAULT_CHUNK_SECONDS = 30;

const chunkSeconds = z.number().min(1).max(600).optional();

/** CMU PocketSphinx 0.8 (Debian `pocketsphinx` + `pocketsphinx-en-us`), one process per chunk. */
const pocketsphinx = z
  .object({
    backend: z.literal('pocketsphinx'),
    /** The model's language; names the model files in `modelDir`. @default "en-us" */
    language: z.string().regex(/^[a-z]{2,3}(?:-[a-z]{2,4})?$/, 'a language such as "en-us"').default('en-us'),
    /** Folder holding `<language>/`, `<language>.lm.bin` and `cmudict-<language>.dict`, relative to the capabilities file. @default "/usr/share/pocketsphinx/model/<language>" */
    modelDir: z.string().min(1).optional(),
    /** The `pocketsphinx_continuous` executable, looked up on PATH. @default "pocketsphinx_continuous" */
    binary: z.string().min(1).optional(),
    /** Seconds of audio per recognition chunk. @default 30 */
    chunkSeconds,
  })
  .strict();

/** whisper.cpp through `@fugood/whisper.node`, on a ggml model the operator brings. */
const whisper = z
  .object({
    backend: z.literal('whisper'),
    /** The ggml model file (e.g. `models/ggml-base.en.bin`), relative to the capabilities file. */
    model: z.string().min(1),
    /** The spoken language, as whisper names it ("en", "de", …), or "auto" to detect it per chunk. @default "en" */
    language: z.string().regex(/^(?:[a-z]{2,3}|auto)$/, 'a whisper language code such as "en", or "auto"').default('en'),
    /** CPU threads whisper.cpp uses per chunk. @default 2 */
    threads: z.number().int().min(1).max(64).default(2),
    /** Seconds of audio per recognition chunk (whisper reads 30-second windows). @default 30 */
    chunkSeconds,
  })
  .strict();

/**
 * The `speech` section of the capabilities file: which speech-to-text backend transcribes audio
 * and video jobs. Without it transcription is unavailable.
 */
export const speechSpecSchema = z.discriminatedUnion('backend', [pocketsphinx, whisper]);
export type SpeechSpec = z.infer<typeof speechSpecSchema>;
export type PocketsphinxSpec = z.infer<typeof pocketsphinx>;
export type WhisperSpec = z.infer<typeof whisper>;
