import { randomUUID } from 'node:crypto';
import { type BatchReply, type BatchRequest } from '../batcher/types.js';
import { type Time, wallTime } from '../core/time.js';
import { type CapabilitySpec } from '../capabilities/config-schema.js';
import { CapserveError } from '../core/errors.js';
import { type Example, type ReviewFilter, type Reviewer, type ReviewItem, type Store } from '../store/types.js';
import { pickReviewer } from './assign-reviewer.js';
import { reviewReason } from './review-rules.js';

export interface ReviewQueueOptions {
  readonly store: Store;
  /** How long an assigned item may wait before it escalates to another reviewer. */
  readonly timeoutMs: number;
  /** Epoch milliseconds (items are stored) and the escalation sweep's timer. @default wallTime */
  readonly time?: Time;
  /** Told when a background write fails. @default ignore */
  readonly onError?: (error: unknown) => void;
  /** Told of every audited action (for metrics). @default ignore */
  readonly onEvent?: (action: string) => void;
}

export interface ReviewerInput {
  readonly id?: string;
  readonly name: string;
  readonly specialisations: readonly string[];
  readonly capacity: number;
}

/** Every item, not the store's default page, when counting load. */
const ALL = 1_000_000;

/**
 * The human review queue. Results that match their capability's `review` rule become items;
 * each goes to the reviewer who takes that capability (or "*") with room under their capacity
 * and the lowest load (assigned / capacity), so work spreads. An item not resolved within
 * `timeoutMs` escalates to a reviewer who has not had it yet. Every change is in the audit log.
 * Changes run one at a time, under the store's lock, so loads are counted exactly even when
 * several servers share a PostgreSQL store.
 */
export class ReviewQueue {
  readonly #store: Store;
  readonly #timeoutMs: number;
  readonly #time: Time;
  readonly #onError: (error: unknown) => void;
  readonly #onEvent: (action: string) => void;
  #exclusive: Promise<unknown> = Promise.resolve();
  #cancelSweep: (() => void) | undefined;

  constructor(options: ReviewQueueOptions) {
    this.#store = options.store;
    this.#timeoutMs = options.timeoutMs;
    this.#time = options.time ?? wallTime;
    this.#onError = options.onError ?? (() => {});
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /** Escalates overdue items every quarter of the timeout (at most every 30 s) until `close`. */
  start(): void {
    const every = Math.min(30_000, Math.max(250, this.#timeoutMs / 4));
    const tick = (): void => {
      this.#cancelSweep = this.#time.schedule(() => {
        this.sweep().catch(this.#onError).finally(() => this.#cancelSweep !== undefined && tick());
      }, every);
    };
    tick();
  }

  async close(): Promise<void> {
    this.#cancelSweep?.();
    this.#cancelSweep = undefined;
    await this.#exclusive.catch(() => undefined);
  }

  /** Queues the results of an answered request that their capabilities' rules send to review. Never throws. */
  offer(request: BatchRequest, reply: BatchReply, specs: ReadonlyMap<string, CapabilitySpec>): void {
    const items: { capability: string; text: string; result: unknown; reason: string }[] = [];
    reply.results.forEach((results, i) => {
      for (const [capability, result] of Object.entries(results)) {
        const rule = specs.get(capability)?.review;
        const reason = rule === undefined ? undefined : reviewReason(rule, result);
        if (reason !== undefined) items.push({ capability, text: request.texts[i] ?? '', result, reason });
      }
    });
    if (items.length === 0) return;
    void this.#run(async () => {
      for (const item of items) await this.#create(item);
      await this.#assignWaiting();
    }).catch(this.#onError);
  }

  /** Adds a reviewer, or updates the one with this id; then gives them waiting items. */
  async addReviewer(input: ReviewerInput, actor: string): Promise<Reviewer> {
    return this.#run(async () => {
      const existing = input.id === undefined ? undefined : await this.#store.getReviewer(input.id);
      const reviewer: Reviewer = {
        id: input.id ?? randomUUID(),
        name: input.name,
        specialisations: [...new Set(input.specialisations)],
        capacity: input.capacity,
        createdAt: existing?.createdAt ?? this.#time.now(),
      };
      await this.#store.putReviewer(reviewer);
      await this.#audit(actor, existing === undefined ? 'reviewer.added' : 'reviewer.updated', `reviewer:${reviewer.id}`, {
        name: reviewer.name,
        specialisations: reviewer.specialisations,
        capacity: reviewer.capacity,
      });
      await this.#assignWaiting();
      return reviewer;
    });
  }

  /** Reviewers with the number of items each holds now. */
  async reviewers(): Promise<(Reviewer & { readonly assigned: number })[]> {
    const loads = await this.#loads();
    return (await this.#store.listReviewers()).map((reviewer) => ({ ...reviewer, assigned: loads.get(reviewer.id) ?? 0 }));
  }

  list(filter: ReviewFilter): Promise<ReviewItem[]> {
    return this.#store.listReviews(filter);
  }

  async get(id: string): Promise<ReviewItem> {
    const item = await this.#store.getReview(id);
    if (item === undefined) throw new CapserveError('REVIEW_NOT_FOUND', `no review item "${id}"`);
    return item;
  }

  /**
   * Records the corrected label from the reviewer the item is assigned to; their freed slot takes
   * the next waiting item. `key` is the label of the API key that sent it, kept in the audit
   * entry beside the reviewer it names.
   */
  async resolve(id: string, reviewerId: string, label: string, key?: string): Promise<ReviewItem> {
    return this.#run(async () => {
      const item = await this.get(id);
      if (item.status === 'resolved') throw new CapserveError('REVIEW_CONFLICT', `review item "${id}" was already resolved by "${item.resolvedBy ?? '?'}"`);
      if (item.assignee !== reviewerId) {
        throw new CapserveError('REVIEW_CONFLICT', `review item "${id}" is assigned to ${item.assignee === undefined ? 'nobody yet' : `"${item.assignee}"`}, not "${reviewerId}"`);
      }
      const { dueAt: _due, ...rest } = item;
      const resolved: ReviewItem = { ...rest, status: 'resolved', correctedLabel: label, resolvedBy: reviewerId, resolvedAt: this.#time.now() };
      await this.#store.putReview(resolved);
      const original = (item.result as { label?: unknown } | null)?.label;
      await this.#audit(reviewerId, 'review.resolved', `review:${id}`, {
        label,
        ...(typeof original === 'string' ? { originalLabel: original } : {}),
        ...(key === undefined ? {} : { key }),
      });
      await this.#assignWaiting();
      return resolved;
    });
  }

  /** Escalates every assigned item past its due time; returns how many moved. */
  async sweep(): Promise<number> {
    return this.#run(async () => {
      const now = this.#time.now();
      const overdue = (await this.#store.listReviews({ statuses: ['assigned'], limit: ALL })).filter((item) => (item.dueAt ?? Infinity) <= now);
      for (const item of overdue) {
        const { assignee: _a, assignedAt: _t, dueAt: _d, ...rest } = item;
        const released: ReviewItem = {
          ...rest,
          status: 'pending',
          escalations: item.escalations + 1,
          previousAssignees: item.assignee === undefined ? item.previousAssignees : [...item.previousAssignees, item.assignee],
        };
        await this.#store.putReview(released);
        await this.#audit('system', 'review.escalated', `review:${item.id}`, { from: item.assignee ?? null, afterMs: now - (item.assignedAt ?? now) });
      }
      await this.#assignWaiting();
      return overdue.length;
    });
  }

  /** Corrected labels as training examples (the latest correction of each text wins). */
  async export(capability?: string): Promise<Example[]> {
    const resolved = await this.#store.listReviews({ statuses: ['resolved'], ...(capability === undefined ? {} : { capability }), limit: ALL });
    const byText = new Map<string, string>();
    for (const item of resolved) if (item.correctedLabel !== undefined) byText.set(item.text, item.correctedLabel);
    return [...byText].map(([text, label]) => ({ text, label }));
  }

  async #create(input: { capability: string; text: string; result: unknown; reason: string }): Promise<void> {
    const item: ReviewItem = { id: randomUUID(), ...input, status: 'pending', previousAssignees: [], escalations: 0, createdAt: this.#time.now() };
    await this.#store.putReview(item);
    await this.#audit('system', 'review.created', `review:${item.id}`, { capability: item.capability, reason: item.reason });
  }

  /** Gives waiting items, oldest first, to reviewers with room. */
  async #assignWaiting(): Promise<void> {
    const reviewers = await this.#store.listReviewers();
    const loads = await this.#loads();
    // Without a free slot nothing can move: skip reading what waits (it grows while nobody reviews).
    if (!reviewers.some((reviewer) => (loads.get(reviewer.id) ?? 0) < reviewer.capacity)) return;
    const waiting = await this.#store.listReviews({ statuses: ['pending'], limit: ALL });
    for (const item of waiting) {
      const reviewer = pickReviewer(item, reviewers, loads);
      if (reviewer === undefined) continue;
      const now = this.#time.now();
      await this.#store.putReview({ ...item, status: 'assigned', assignee: reviewer.id, assignedAt: now, dueAt: now + this.#timeoutMs });
      loads.set(reviewer.id, (loads.get(reviewer.id) ?? 0) + 1);
      await this.#audit('system', 'review.assigned', `review:${item.id}`, { reviewer: reviewer.id, escalations: item.escalations });
    }
  }

  async #loads(): Promise<Map<string, number>> {
    const loads = new Map<string, number>();
    for (const item of await this.#store.listReviews({ statuses: ['assigned'], limit: ALL })) {
      if (item.assignee !== undefined) loads.set(item.assignee, (loads.get(item.assignee) ?? 0) + 1);
    }
    return loads;
  }

  async #audit(actor: string, action: string, subject: string, details: Record<string, unknown>): Promise<void> {
    await this.#store.appendAudit({ at: this.#time.now(), actor, action, subject, details });
    this.#onEvent(action);
  }

  #run<T>(task: () => Promise<T>): Promise<T> {
    // In order here, and under the store's lock so queues in other processes on a shared PostgreSQL count the same loads.
    const result = this.#exclusive.then(() => this.#store.exclusive('capserve:reviews', task));
    this.#exclusive = result.catch(() => undefined);
    return result;
  }
}
