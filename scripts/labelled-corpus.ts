import { seededRandom } from '../capabilities/math/seeded-random.js';

/** Each topic's own words; texts mix them with shared filler, so no single word decides. */
const topics: Readonly<Record<string, readonly string[]>> = {
  billing: ['invoice', 'refund', 'charged', 'payment', 'card', 'bill', 'price', 'subscription'],
  shipping: ['delivery', 'parcel', 'courier', 'tracking', 'late', 'package', 'address', 'shipped'],
  account: ['password', 'login', 'email', 'profile', 'locked', 'username', 'reset', 'verify'],
};
const filler = ['please', 'help', 'my', 'the', 'is', 'not', 'today', 'with', 'i', 'need', 'again', 'why', 'still', 'can', 'you'];

export const topicLabels = Object.keys(topics);

/**
 * A seeded labelled set of support-ticket-like texts over three topics: each text has 8–14
 * words, about a third from its topic and the rest filler, and `noise` of the labels are
 * swapped for a random other topic (so no model can be perfect).
 */
export function labelledTexts(count: number, seed: number, noise = 0.05): { text: string; label: string }[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const label = topicLabels[i % topicLabels.length] as string;
    const words = Array.from({ length: 8 + Math.floor(random() * 7) }, () => (random() < 0.35 ? pick(topics[label] ?? []) : pick(filler)));
    const shown = random() < noise ? pick(topicLabels.filter((other) => other !== label)) : label;
    return { text: words.join(' '), label: shown };
  });
}
