import { type PreTrainedTokenizer } from '@huggingface/transformers';

/** Token rows as the onnx backend feeds them: ids, and segment ids when the tokenizer makes them. */
export interface EncodedRows {
  readonly input_ids: number[][];
  readonly token_type_ids?: number[][];
}

/** How many special tokens the tokenizer writes before and after a text's own tokens ([CLS] … [SEP]: 1 and 1). */
export interface SpecialFrame {
  readonly before: number;
  readonly after: number;
}

/**
 * Finds the frame by encoding one probe text with and without special tokens and locating the
 * plain tokens inside the framed ones. A tokenizer whose template does not keep the text in one
 * piece gets no frame (0 and 0): its rows are cut at the end, as transformers.js would.
 */
export function specialFrame(tokenizer: PreTrainedTokenizer): SpecialFrame {
  const probe = 'frame probe';
  const framed = tokenizer.encode(probe);
  const plain = tokenizer.encode(probe, { add_special_tokens: false });
  for (let start = 0; start + plain.length <= framed.length; start += 1) {
    if (plain.every((id, k) => framed[start + k] === id)) return { before: start, after: framed.length - start - plain.length };
  }
  return { before: 0, after: 0 };
}

/**
 * Encodes texts without padding and cuts each row longer than `maxTokens` inside the text's own
 * tokens, so the closing special tokens stay. transformers.js truncates by slicing the framed
 * row, which drops the closing [SEP] of every long text: the model then sees an input shape it
 * was never trained on, and a long text's embedding changes with where it was cut.
 */
export function encodeTruncated(tokenizer: PreTrainedTokenizer, frame: SpecialFrame, texts: readonly string[], maxTokens: number): EncodedRows {
  const encoded = tokenizer([...texts], { padding: false, truncation: false, return_tensor: false }) as unknown as EncodedRows;
  const cut = (row: number[]): number[] =>
    row.length <= maxTokens || frame.after === 0 || maxTokens <= frame.before + frame.after
      ? row.slice(0, maxTokens)
      : [...row.slice(0, maxTokens - frame.after), ...row.slice(row.length - frame.after)];
  return {
    input_ids: encoded.input_ids.map(cut),
    ...(encoded.token_type_ids === undefined ? {} : { token_type_ids: encoded.token_type_ids.map(cut) }),
  };
}
