import path from 'node:path';
import { z } from 'zod';
import { parseAs, readJson } from './read-json.js';
import { UseTokenizer } from './use-tokenizer.js';

/** `[piece, score]` pairs; a few shipped scores are null (see {@link UseTokenizer}). */
const vocabularySchema = z.array(z.tuple([z.string(), z.number().nullable()]));

/**
 * The SentencePiece tokenizer of a Universal Sentence Encoder Lite directory, from its
 * `vocab.json`. Reading it needs no TensorFlow.js, so the main thread can tokenise without it.
 */
export async function readUseTokenizer(dir: string, modelName: string): Promise<UseTokenizer> {
  const vocabFile = path.join(dir, 'vocab.json');
  return UseTokenizer.fromVocabulary(parseAs(vocabularySchema, await readJson(vocabFile, 'vocabulary', modelName), vocabFile, modelName));
}
