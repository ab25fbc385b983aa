import { readFile } from 'node:fs/promises';

/**
 * The samples of a 16-bit PCM mono WAV file at `sampleRate` (what the speech backends take),
 * walking its RIFF chunks; anything else is an error, not a silent resample.
 */
export async function readWav16kMono(file: string, sampleRate = 16_000): Promise<Int16Array> {
  const bytes = await readFile(file);
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file} is not a WAV file`);
  let offset = 12;
  let format: { channels: number; rate: number; bits: number; tag: number } | undefined;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = { tag: bytes.readUInt16LE(body), channels: bytes.readUInt16LE(body + 2), rate: bytes.readUInt32LE(body + 4), bits: bytes.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (format === undefined) throw new Error(`${file}: data before fmt`);
      if (format.tag !== 1 || format.channels !== 1 || format.bits !== 16 || format.rate !== sampleRate) {
        throw new Error(`${file}: want 16-bit PCM mono at ${sampleRate} Hz, found tag ${format.tag}, ${format.channels} channels, ${format.bits} bits, ${format.rate} Hz`);
      }
      const end = Math.min(body + size, bytes.length) & ~1;
      const samples = new Int16Array((end - body) / 2);
      for (let i = 0; i < samples.length; i += 1) samples[i] = bytes.readInt16LE(body + 2 * i);
      return samples;
    }
    offset = body + size + (size % 2);
  }
  throw new Error(`${file} has no data chunk`);
}
