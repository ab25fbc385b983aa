import { type CapabilitySpec } from '../config-schema.js';
import { type Capability } from '../types.js';
import { type EntityRule, type EntityType, type EntityValue, entityRules } from './entity-rules.js';

type Spec = Extract<CapabilitySpec, { kind: 'entities' }>;

/** One span found in a text; `start`/`end` are UTF-16 offsets, so `text.slice(start, end)` is the span. */
export interface Entity {
  readonly type: EntityType;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Normalised value where it is cheap and unambiguous (see docs/models.md). */
  readonly value?: EntityValue;
}

export interface EntitiesResult {
  /** Non-overlapping spans in text order. */
  readonly entities: readonly Entity[];
  /** True when the text held more than `maxEntities` spans and only the first ones are given. */
  readonly truncated: boolean;
}

interface Candidate extends Entity {
  readonly rank: number;
}

/**
 * Emails, URLs, phone numbers, dates and times, money, percentages, hashtags and mentions, all by
 * rule (capabilities/builtin/entity-rules.ts). No model: wink-eng-lite-web-model, the offline
 * English NER that installs from npm, finds only these same surface types (and no people,
 * organisations or places), so rules with exact offsets serve them better.
 */
export function entitiesCapability(spec: Spec): Capability<EntitiesResult> {
  const wanted = new Set<EntityType>(spec.params.types);
  const rules = entityRules.filter((rule) => wanted.has(rule.type));
  const { maxEntities } = spec.params;
  return {
    name: spec.name,
    dependsOn: spec.dependsOn,
    async run(texts) {
      return texts.map((text) => findEntities(text, rules, maxEntities));
    },
  };
}

/**
 * Every rule scans the text; where candidates overlap the rule listed first wins, then the one
 * starting first. Work stays bounded on hostile input: each rule keeps at most `4 × maxEntities`
 * candidates, and the text is only resolved up to the first place where some rule stopped, so the
 * spans returned are exactly the first ones of the whole text.
 */
export function findEntities(text: string, rules: readonly EntityRule[], maxEntities: number): EntitiesResult {
  const perRule = maxEntities * 4;
  let horizon = text.length;
  let cut = false;
  const candidates: Candidate[] = [];
  rules.forEach((rule, rank) => {
    let kept = 0;
    for (const match of text.matchAll(rule.pattern)) {
      if (match.index >= horizon) break;
      const read = rule.read(match);
      if (read === null) continue;
      const start = match.index;
      const end = read.end ?? start + match[0].length;
      candidates.push({ type: rule.type, text: text.slice(start, end), start, end, rank, ...(read.value === undefined ? {} : { value: read.value }) });
      if (++kept === perRule) {
        horizon = end;
        cut = true;
        break;
      }
    }
  });
  const inside = candidates.filter((candidate) => candidate.end <= horizon).sort((a, b) => a.rank - b.rank || a.start - b.start);
  const taken: Candidate[] = [];
  for (const candidate of inside) {
    if (!overlapsAny(taken, candidate)) insertSorted(taken, candidate);
  }
  const entities = taken.slice(0, maxEntities).map(({ rank: _rank, ...entity }) => entity);
  return { entities, truncated: cut || taken.length > maxEntities };
}

/** Index of the first taken span ending after `position` (taken is sorted and non-overlapping). */
function firstEndingAfter(taken: readonly Candidate[], position: number): number {
  let low = 0;
  let high = taken.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((taken[middle] as Candidate).end <= position) low = middle + 1;
    else high = middle;
  }
  return low;
}

function overlapsAny(taken: readonly Candidate[], candidate: Candidate): boolean {
  const next = taken[firstEndingAfter(taken, candidate.start)];
  return next !== undefined && next.start < candidate.end;
}

function insertSorted(taken: Candidate[], candidate: Candidate): void {
  taken.splice(firstEndingAfter(taken, candidate.start), 0, candidate);
}
