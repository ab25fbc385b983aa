import { type Reviewer, type ReviewItem } from '../store/types.js';

/**
 * The reviewer for `item`: among those who take its capability (or "*") and have room under
 * their capacity, prefer one who has not had the item before (an escalation goes to someone
 * new while anyone new can take it), then a specialist of that capability over a "*"
 * generalist, then the lowest load (assigned / capacity), then the
 * fewest items, then the oldest reviewer. Undefined when nobody has room.
 */
export function pickReviewer(item: ReviewItem, reviewers: readonly Reviewer[], loads: ReadonlyMap<string, number>): Reviewer | undefined {
  const candidates = reviewers.filter(
    (reviewer) =>
      (reviewer.specialisations.includes(item.capability) || reviewer.specialisations.includes('*')) &&
      (loads.get(reviewer.id) ?? 0) < reviewer.capacity,
  );
  const fresh = candidates.filter((reviewer) => !item.previousAssignees.includes(reviewer.id));
  const unseen = fresh.length > 0 ? fresh : candidates;
  const specialists = unseen.filter((reviewer) => reviewer.specialisations.includes(item.capability));
  const pool = specialists.length > 0 ? specialists : unseen;
  let best: Reviewer | undefined;
  for (const reviewer of pool) {
    if (best === undefined || compare(reviewer, best, loads) < 0) best = reviewer;
  }
  return best;
}

function compare(a: Reviewer, b: Reviewer, loads: ReadonlyMap<string, number>): number {
  const [loadA, loadB] = [loads.get(a.id) ?? 0, loads.get(b.id) ?? 0];
  return loadA / a.capacity - loadB / b.capacity || loadA - loadB || a.createdAt - b.createdAt || a.id.localeCompare(b.id);
}
