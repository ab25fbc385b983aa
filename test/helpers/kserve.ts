import path from 'node:path';
import { type Test } from 'tap';
import { parseCapabilitiesConfig } from '../../capabilities/load-config.js';
import { loadConfig } from '../../server/config.js';
import { serviceApp } from './service-app.js';
import { tinyBertDir, writeSentimentExamples } from './tiny-bert.js';

/**
 * KServe V2 test fixtures, written from the protocol text rather than from the server's code:
 * a service over the tiny random BERT with an `embedding`, an `embedding-classifier`
 * (`sentiment`, as capabilities/default.json declares it) and a `classifier`, and the binary
 * tensor data extension's encodings by hand.
 */
export async function startKserveApp(t: Test, env: Record<string, string> = {}) {
  const dir = await tinyBertDir();
  const examples = await writeSentimentExamples('kserve-sentiment-examples.json');
  const config = loadConfig({ PORT: '0', MODELS_DIR: path.dirname(dir), CAPABILITIES_CONFIG: path.join(dir, 'capabilities.json'), MAX_TEXTS_PER_REQUEST: '8', MAX_TEXT_LENGTH: '100', BODY_LIMIT_BYTES: '65536', ...env });
  const capabilities = parseCapabilitiesConfig({
    models: [
      { name: 'tiny-embedder', backend: 'onnx', task: 'embedding', path: path.basename(dir) },
      { name: 'tiny-classifier', backend: 'onnx', task: 'classification', path: path.basename(dir) },
    ],
    capabilities: [
      { name: 'embedding', kind: 'embedding', model: 'tiny-embedder' },
      { name: 'sentiment', kind: 'embedding-classifier', dependsOn: ['embedding'], params: { examples } },
      { name: 'classification', kind: 'classifier', model: 'tiny-classifier' },
      { name: 'stats', kind: 'text-stats' },
    ],
  });
  return serviceApp(t, config, capabilities);
}

/** BYTES elements as binary tensor data: each a 4-byte little-endian length, then its UTF-8 bytes. */
export function bytesElements(texts: readonly (string | Uint8Array)[]): Buffer {
  return Buffer.concat(
    texts.flatMap((text) => {
      const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}

/** A request body of the binary extension: the JSON object, then the tensor bytes; `headerLength` is the JSON's length in bytes. */
export function binaryRequest(json: unknown, tensors: Buffer): { body: Buffer; headerLength: number } {
  const header = Buffer.from(JSON.stringify(json), 'utf8');
  return { body: Buffer.concat([header, tensors]), headerLength: header.length };
}

export interface BinaryOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly parameters?: Record<string, unknown>;
  readonly data?: unknown[];
}

/**
 * A binary-extension response split by its Inference-Header-Content-Length: the JSON object, and
 * each binary output's bytes (taken in the order the JSON lists them, by `binary_data_size`).
 */
export function splitBinaryResponse(body: Buffer, headerLength: number): { json: { outputs: BinaryOutput[]; [key: string]: unknown }; tensors: Map<string, Buffer> } {
  const json = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { outputs: BinaryOutput[] };
  const tensors = new Map<string, Buffer>();
  let offset = headerLength;
  for (const output of json.outputs) {
    const size = output.parameters?.binary_data_size;
    if (typeof size !== 'number') continue;
    tensors.set(output.name, body.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== body.length) throw new Error(`${body.length - offset} bytes after the last binary output`);
  return { json, tensors };
}

/** FP32 binary tensor data as numbers. */
export function readFp32(bytes: Buffer): number[] {
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

/** BYTES binary tensor data as strings. */
export function readBytes(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const length = bytes.readUInt32LE(offset);
    out.push(bytes.subarray(offset + 4, offset + 4 + length).toString('utf8'));
    offset += 4 + length;
  }
  return out;
}
