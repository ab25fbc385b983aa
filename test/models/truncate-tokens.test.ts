import { AutoTokenizer } from '@huggingface/transformers';
import t from 'tap';
import { encodeTruncated, specialFrame } from '../../models/truncate-tokens.js';
import { tinyBertDir } from '../helpers/tiny-bert.js';

t.test('a long text is cut inside its own tokens: [CLS] first and [SEP] last, as a short text has them', async (t) => {
  const tokenizer = await AutoTokenizer.from_pretrained(await tinyBertDir(), { local_files_only: true });
  const frame = specialFrame(tokenizer);
  t.same(frame, { before: 1, after: 1 }, 'BERT frames a text with one token on each side');
  const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
  const [short, cut] = [tokenizer.encode('short text'), encodeTruncated(tokenizer, frame, ['short text', long], 12)];
  t.same(cut.input_ids[0], short, 'a text within the limit is as the tokenizer encodes it');
  const row = cut.input_ids[1] ?? [];
  const full = tokenizer.encode(long);
  t.equal(row.length, 12);
  t.equal(row[0], full[0], 'the opening special token stays');
  t.equal(row.at(-1), full.at(-1), 'the closing special token stays');
  t.same(row.slice(0, 11), full.slice(0, 11), "the text's first tokens are kept, in order");
  t.equal(cut.token_type_ids?.[1]?.length, 12, 'segment ids are cut to the same length');
  const sliced = tokenizer([long], { padding: false, truncation: true, max_length: 12, return_tensor: false }) as unknown as { input_ids: number[][] };
  t.not(sliced.input_ids[0]?.at(-1), full.at(-1), "transformers.js's own truncation drops it (what this replaces)");
});
