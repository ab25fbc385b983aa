/**
 * Deterministic load for the benchmark: texts of mixed lengths, requests of 1–8 texts, and a
 * capability mix where every request wants the base capability and some want one or two
 * dependents. The same seed gives the same requests to every server.
 */
import { seededRandom } from '../../capabilities/math/seeded-random.js';

export interface BenchRequest {
  readonly texts: string[];
  readonly capabilities: string[];
}

const words = (
  'the order arrived late and the box was damaged support never answered my emails I love this phone ' +
  'battery lasts all day refund please cancel subscription price is too high delivery tracking app crashes ' +
  'login password reset account settings great service friendly staff hotel flight trip restaurant meal ' +
  'quality design feature works perfectly slow screen broken invoice charge payment billing product'
).split(' ');

/** Word counts of texts: mostly short reviews, some paragraphs (5 to 80 words). */
const lengthMix: readonly (readonly [weight: number, min: number, max: number])[] = [
  [0.5, 5, 15],
  [0.35, 16, 40],
  [0.15, 41, 80],
];

/** The capability mix, by weight. */
export const capabilityMix: readonly (readonly [number, readonly string[]])[] = [
  [0.4, ['embedding']],
  [0.25, ['embedding', 'sentiment']],
  [0.15, ['embedding', 'topics']],
  [0.12, ['embedding', 'sentiment', 'alerts']],
  [0.08, ['embedding', 'topics', 'recommendations']],
];

function pick<T>(random: () => number, weighted: readonly (readonly [number, ...unknown[]])[], take: (row: (typeof weighted)[number]) => T): T {
  let roll = random();
  for (const row of weighted) {
    roll -= row[0];
    if (roll < 0) return take(row);
  }
  return take(weighted[weighted.length - 1] as (typeof weighted)[number]);
}

export function makeText(random: () => number): string {
  const [min, max] = pick(random, lengthMix, (row) => [row[1] as number, row[2] as number] as const);
  const count = min + Math.floor(random() * (max - min + 1));
  const picked = Array.from({ length: count }, () => words[Math.floor(random() * words.length)] ?? 'word');
  return `${picked.join(' ')} #${Math.floor(random() * 1e6)}.`;
}

/** `count` requests from `seed`; texts are unique (a numbered tag) so the cache and dedup do not flatter the figures. */
export function makeRequests(count: number, seed: number): BenchRequest[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    texts: Array.from({ length: 1 + Math.floor(random() * 8) }, () => makeText(random)),
    capabilities: [...pick(random, capabilityMix, (row) => row[1] as readonly string[])],
  }));
}
