import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { type ModelSource } from './resolve-source.js';
import { type ModelSpec } from './types.js';

/**
 * A model's own Hugging Face tokenizer (tokenizer.json, tokenizer_config.json) through
 * transformers.js. A local directory is read with `local_files_only`: an absolute path is never
 * taken for a hub id and nothing is downloaded, so this needs no change to the global
 * transformers.js `env` that the transformers backend owns. A hub id is fetched only when
 * remote models are allowed (otherwise only transformers.js's cache is read).
 */
export function openHfTokenizer(source: ModelSource, allowRemoteModels = false): Promise<PreTrainedTokenizer> {
  return source.kind === 'dir'
    ? AutoTokenizer.from_pretrained(source.dir, { local_files_only: true })
    : AutoTokenizer.from_pretrained(source.id, { local_files_only: !allowRemoteModels });
}

/**
 * Tokens per text a model sees: transformers.js truncates to the smaller of the `max_length`
 * asked for (the spec's maxLength) and the tokenizer's `model_max_length`.
 */
export function hfMaxTokens(spec: Pick<ModelSpec, 'maxLength'>, tokenizer: Pick<PreTrainedTokenizer, 'model_max_length'>): number {
  const own = Number(tokenizer.model_max_length);
  return Number.isFinite(own) && own > 0 ? Math.min(spec.maxLength, Math.floor(own)) : spec.maxLength;
}
