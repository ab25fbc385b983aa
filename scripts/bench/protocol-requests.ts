import { type BenchRequest } from './corpus.js';

/**
 * The routes a benchmark request can take: `/classify` as generated (several capabilities),
 * `/classify` asking for the embedding alone, OpenAI's `/v1/embeddings` (float or base64) and
 * text-embeddings-inference's `/embed`. The last four carry the same texts for the same work.
 */
export const protocols = ['classify', 'classify-embedding', 'openai', 'openai-base64', 'tei'] as const;
export type Protocol = (typeof protocols)[number];

/** One request on the wire: where it goes, its JSON body, and how many texts it carries. */
export interface WireRequest {
  readonly path: string;
  readonly body: string;
  readonly texts: number;
}

/** The embedding capability every protocol request names (the bench configs have one called so). */
const EMBEDDING = 'embedding';

export function wireRequest(request: BenchRequest, protocol: Protocol): WireRequest {
  const texts = request.texts.length;
  switch (protocol) {
    case 'classify':
      return { path: '/classify', body: JSON.stringify(request), texts };
    case 'classify-embedding':
      return { path: '/classify', body: JSON.stringify({ texts: request.texts, capabilities: [EMBEDDING] }), texts };
    case 'openai':
      return { path: '/v1/embeddings', body: JSON.stringify({ model: EMBEDDING, input: request.texts, encoding_format: 'float' }), texts };
    case 'openai-base64':
      return { path: '/v1/embeddings', body: JSON.stringify({ model: EMBEDDING, input: request.texts, encoding_format: 'base64' }), texts };
    case 'tei':
      return { path: '/embed', body: JSON.stringify({ inputs: request.texts, truncate: true }), texts };
  }
}

/** Requests spread round-robin over `mix` (one protocol: all of them on it). */
export function wireRequests(requests: readonly BenchRequest[], mix: readonly Protocol[]): WireRequest[] {
  return requests.map((request, i) => wireRequest(request, mix[i % mix.length] ?? 'classify'));
}
