import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateBertModel } from '../../scripts/generate-bert-onnx.js';
import { tinySentimentExamples } from '../../scripts/fixtures/sentiment-examples.js';

let generated: Promise<string> | undefined;

/**
 * The directory of a tiny random-weight BERT (preset "tiny", default seed), generated once per
 * process into a temporary directory that is removed when the process exits.
 */
export async function tinyBertDir(): Promise<string> {
  generated ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'capserve-tiny-bert-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await generateBertModel({ out: dir, preset: 'tiny' });
    return dir;
  })();
  return generated;
}

/**
 * Writes four labelled sentences (two positive, two negative) beside the tiny BERT as `name`, for
 * an `embedding-classifier` such as capabilities/default.json's `sentiment`; returns the file.
 */
export async function writeSentimentExamples(name: string): Promise<string> {
  const file = path.join(await tinyBertDir(), name);
  await writeFile(
    file,
    JSON.stringify(tinySentimentExamples),
  );
  return file;
}
