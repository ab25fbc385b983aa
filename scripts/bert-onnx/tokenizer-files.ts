import { specialTokens, type SpecialToken } from './vocab.js';

function idOf(vocabulary: readonly string[], token: SpecialToken): number {
  const id = vocabulary.indexOf(token);
  if (id < 0) throw new Error(`vocabulary lacks ${token}`);
  return id;
}

/**
 * tokenizer.json in the Hugging Face `tokenizers` format, as a BERT uncased tokenizer writes it:
 * BertNormalizer (lowercase), BertPreTokenizer, WordPiece with "##" and [UNK], and a template that
 * wraps one text as [CLS] A [SEP] (a pair as [CLS] A [SEP] B [SEP], B with token type 1).
 * Padding and truncation are left to the caller, as in exported models.
 */
export function tokenizerJson(vocabulary: readonly string[]): Record<string, unknown> {
  const cls = idOf(vocabulary, '[CLS]');
  const sep = idOf(vocabulary, '[SEP]');
  const special = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((token) => ({
      id: idOf(vocabulary, token),
      content: token,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocabulary.map((token, id) => [token, id])),
    },
  };
}

/** tokenizer_config.json: which tokenizer class to build and its special tokens. */
export function tokenizerConfigJson(maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    do_basic_tokenize: true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    model_max_length: maxLength,
    padding_side: 'right',
    truncation_side: 'right',
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  };
}
