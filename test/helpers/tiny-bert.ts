import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateBertModel } from '../../scripts/generate-bert-onnx.js';

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
