import { type PreTrainedTokenizer } from '@huggingface/transformers';
import { alignTokens, type AlignOptions } from './align-offsets.js';
import { describeSource, resolveModelSource } from './resolve-source.js';
import { type LoadOptions, type ModelSpec, type Token, type TokenizedText } from './types.js';
import { type UseTokenizer, WORD_SEPARATOR } from './use-tokenizer.js';
import { readUseTokenizer } from './use-vocabulary.js';

/** A model's tokenizer, loaded in the main thread (the backends keep theirs in worker threads). */
export interface TextTokenizer {
  /** Tokens per text the model sees; longer texts are truncated. */
  readonly maxTokens: number;
  /** Each text's tokens as the model sees them, untruncated, special tokens included. */
  tokenize(texts: readonly string[]): TokenizedText[];
  /** How many tokens `tokenize` would give each text, without finding their offsets (one encode, not two plus an alignment). */
  countTokens(texts: readonly string[]): number[];
}

/** Loads the tokenizer of a model spec (a repository model already resolved to its folder). */
export type TokenizerLoader = (spec: ModelSpec, options: LoadOptions) => Promise<TextTokenizer>;

/**
 * The same tokenizer the spec's backend uses, read from the same files: the model's own
 * Hugging Face tokenizer for onnx and transformers, the SentencePiece vocabulary for tfjs
 * (Universal Sentence Encoder Lite).
 */
export const loadTextTokenizer: TokenizerLoader = async (spec, options) => {
  const source = resolveModelSource(spec, options);
  if (spec.backend === 'tfjs') {
    if (source.kind !== 'dir') throw new Error(`model "${spec.name}": the tfjs backend loads local directories only, not ${describeSource(source)}`);
    return useTextTokenizer(await readUseTokenizer(source.dir, spec.name), spec.maxLength);
  }
  if (spec.backend === 'onnx' && source.kind !== 'dir') throw new Error(`model "${spec.name}": the onnx backend loads local directories only, not ${describeSource(source)}`);
  // Imported on first use, as the backends are (loaders.ts): a USE-only deployment never loads transformers.js here.
  const { hfMaxTokens, openHfTokenizer } = await import('./hf-tokenizer.js');
  const tokenizer = await openHfTokenizer(source, options.allowRemoteModels);
  return hfTextTokenizer(tokenizer, hfMaxTokens(spec, tokenizer));
};

/**
 * USE-lite adds no special tokens. A text with no pieces is given the bare word separator, as
 * the tfjs backend does (the graph would drop a text without tokens); it is flagged special
 * because the text does not hold it.
 */
function useTextTokenizer(tokenizer: UseTokenizer, maxTokens: number): TextTokenizer {
  const separator: Token = Object.freeze({ id: tokenizer.separatorId, text: WORD_SEPARATOR, special: true, start: null, stop: null });
  return {
    maxTokens,
    countTokens: (texts) => texts.map((text) => Math.max(1, tokenizer.encode(text).length)),
    tokenize: (texts) =>
      texts.map((text) => {
        const pieces = tokenizer.encodeWithOffsets(text);
        if (pieces.length === 0) return { tokens: [separator] };
        return { tokens: pieces.map(({ id, start, stop }) => ({ id, text: tokenizer.piece(id), special: false, start, stop })) };
      }),
  };
}

/**
 * A Hugging Face tokenizer. Special tokens are told apart by position, not by id: the text is
 * encoded with and without them and the ones around its own tokens are the added ones, so a
 * "[UNK]" read from the text (a special id in BERT's vocabulary) is not flagged special.
 * transformers.js gives no offsets; {@link alignTokens} finds them in the text.
 */
function hfTextTokenizer(tokenizer: PreTrainedTokenizer, maxTokens: number): TextTokenizer {
  const core = coreOf(tokenizer);
  const align = alignOptionsOf(tokenizer);
  return {
    maxTokens,
    countTokens: (texts) => texts.map((text) => core.encode(text, { add_special_tokens: true }).ids.length),
    tokenize: (texts) =>
      texts.map((text) => {
        const full = core.encode(text, { add_special_tokens: true });
        const own = core.encode(text, { add_special_tokens: false });
        const at = findRun(full.ids, own.ids);
        const spans = align === undefined || at === undefined ? undefined : alignTokens(text, own.tokens, align);
        return {
          tokens: full.ids.map((id, i) => {
            const inText = at !== undefined && i >= at && i < at + own.ids.length;
            const span = inText ? spans?.[i - at] : undefined;
            return {
              id,
              text: full.tokens[i] ?? '',
              special: at === undefined ? tokenizer.all_special_ids.includes(id) : !inText,
              start: span?.start ?? null,
              stop: span?.stop ?? null,
            };
          }),
        };
      }),
  };
}

/** What this file uses of the @huggingface/tokenizers `Tokenizer` behind a transformers.js tokenizer. */
interface CoreTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[]; tokens: string[] };
  readonly normalizer: { normalize(text: string): string } | null;
  readonly model: { readonly unk_token?: string; readonly config?: unknown } | null;
}

/** transformers.js types `_tokenizer` through a package whose types do not resolve here, so the used surface is named. */
function coreOf(tokenizer: PreTrainedTokenizer): CoreTokenizer {
  return tokenizer._tokenizer as unknown as CoreTokenizer;
}

/** Where `run` lies in `ids` (the text's own tokens among the added ones); undefined when it does not. */
function findRun(ids: readonly number[], run: readonly number[]): number | undefined {
  for (let at = 0; at + run.length <= ids.length; at += 1) {
    if (run.every((id, k) => ids[at + k] === id)) return at;
  }
  return undefined;
}

/**
 * How to find this tokenizer's tokens in the text; undefined when offsets are not attempted
 * (legacy options that rewrite the text outside the normaliser).
 */
function alignOptionsOf(tokenizer: PreTrainedTokenizer): AlignOptions | undefined {
  const config = tokenizer._tokenizerConfig as Record<string, unknown> | undefined;
  if (config?.['do_lowercase_and_remove_accent'] === true || config?.['remove_space'] === true) return undefined;
  const core = coreOf(tokenizer);
  const model = (core.model?.config ?? {}) as Record<string, unknown>;
  const normalizer = core.normalizer;
  const unknown = core.model?.unk_token;
  const subwordPrefix = model['type'] === 'WordPiece' ? String(model['continuing_subword_prefix'] ?? '##') : undefined;
  return {
    ...(normalizer === null ? {} : { normalize: (text: string) => normalizer.normalize(text) }),
    ...(subwordPrefix === undefined ? {} : { subwordPrefix }),
    wordPrefixes: [WORD_SEPARATOR, '\u0120'],
    ...(typeof unknown === 'string' ? { unknown } : {}),
  };
}
