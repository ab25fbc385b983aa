import { type CapabilityRegistry } from '../capabilities/registry.js';
import { CapserveError, isCapserveError, messageOf } from '../core/errors.js';
import { gatherBatchTexts } from './batch-texts.js';
import { type QueuedRequest } from './queued-request.js';
import { type BatchTrace, startBatchSpan } from './batch-tracing.js';
import { contextWith, endSpan, startSpan, withContext } from '../core/tracing.js';
import { type Claim, type ResultStore } from './result-store.js';
import { type BatchObserver, type CapabilityFailure } from './types.js';
import { type Time } from '../core/time.js';

type Outcome =
  | { readonly ok: true; readonly results: ReadonlyMap<number, unknown> }
  | { readonly ok: false; readonly code: CapabilityFailure['code']; readonly message: string };

export interface ExecuteBatchDeps {
  readonly registry: CapabilityRegistry;
  /** The clock for durations; also runs capability time limits when `capabilityTimeoutMs` is set. */
  readonly time: Time;
  readonly capabilityTimeoutMs?: number;
  readonly observer: BatchObserver;
  /** Shares results across batches (in-flight and, if sized, cached); absent, every batch computes its own. */
  readonly store?: ResultStore;
}

/**
 * Runs one closed batch. Identical texts are computed once; each capability needed by any
 * request runs exactly once, over the union of the distinct texts of the requests that need it
 * (directly or as a dependency, and the texts a capability derives for it, such as a summary's
 * sentences), after its dependencies and concurrently with unrelated branches.
 * Every live request is then answered with exactly its own texts and capabilities.
 */
export async function executeBatch(
  batchId: number,
  entries: readonly QueuedRequest[],
  deps: ExecuteBatchDeps,
): Promise<void> {
  const trace = startBatchSpan(batchId, entries.map((entry) => entry.trace));
  try {
    await runBatch(batchId, entries, deps, trace);
    endSpan(trace.span);
  } catch (error) {
    endSpan(trace.span, error);
    throw error;
  }
}

/** {@link executeBatch} inside its `batch` span; each capability execution is a `capability <name>` span under it. */
async function runBatch(batchId: number, entries: readonly QueuedRequest[], deps: ExecuteBatchDeps, trace: BatchTrace): Promise<void> {
  const { registry, time, observer } = deps;
  const startedAt = time.now();
  const { texts, own, textIds, demands, derivedIds, derivationFailures } = gatherBatchTexts(
    registry,
    entries.map((entry) => ({ texts: entry.request.texts, capabilities: entry.capabilities })),
  );
  observer.batchStarted?.({ id: batchId, requests: entries.length, texts: textIds.flat().length, uniqueTexts: own });
  trace.span.setAttributes({ 'capserve.batch.texts': textIds.flat().length, 'capserve.batch.unique_texts': texts.length });
  /** Whether request `k` needs capability `name` over any of `ids` (all of its texts when `ids` is undefined). */
  const needs = (k: number, name: string, ids?: ReadonlySet<number>): boolean =>
    (demands[k] ?? []).some((demand) => demand.capabilities.has(name) && (ids === undefined || demand.ids.some((id) => ids.has(id))));

  const outcomes = new Map<string, Promise<Outcome>>();
  let executions = 0;

  const run = async (name: string): Promise<Outcome> => {
    const capability = registry.get(name);
    const dependencyOutcomes = await Promise.all(
      capability.dependsOn.map(async (dependency) => [dependency, await outcomes.get(dependency)] as const),
    );
    const failed = dependencyOutcomes.find(([, outcome]) => outcome?.ok !== true);
    if (failed !== undefined) {
      const [dependency, outcome] = failed;
      const reason = outcome !== undefined && !outcome.ok ? outcome.message : 'not run';
      return { ok: false, code: 'DEPENDENCY_FAILED', message: `dependency "${dependency}" failed: ${reason}` };
    }
    // Decided when the capability starts, not when the batch closed: requests cancelled since
    // then no longer pull their texts through the rest of the DAG.
    const needed = new Set<number>();
    entries.forEach((entry, k) => {
      if (entry.settled) return;
      for (const demand of demands[k] ?? []) if (demand.capabilities.has(name)) for (const id of demand.ids) needed.add(id);
    });
    const derivationFailure = derivationFailures.get(name);
    if (derivationFailure !== undefined) {
      return { ok: false, code: 'CAPABILITY_FAILED', message: `capability "${name}" could not derive its texts: ${derivationFailure}` };
    }
    if (needed.size === 0) return { ok: true, results: new Map() };
    const ids = [...needed].sort((a, b) => a - b);

    // Results another batch has (or is computing) are taken from it; the rest are claimed here.
    const results = new Map<number, unknown>();
    const borrowed: [number, Promise<unknown>][] = [];
    const own: number[] = [];
    for (const id of ids) {
      const found = deps.store?.lookup(name, texts[id] ?? '') ?? { kind: 'miss' };
      if (found.kind === 'cached') results.set(id, found.value);
      else if (found.kind === 'in-flight') borrowed.push([id, found.promise]);
      else own.push(id);
    }
    const claims = own.map((id) => deps.store?.claim(name, texts[id] ?? ''));
    const began = time.now();
    const span = startSpan(`capability ${name}`, { attributes: { 'capserve.capability': name, 'capserve.batch.id': batchId, 'capserve.texts': ids.length } }, trace.context);
    const inSpan = contextWith(span, trace.context);
    let outcome = await withContext(inSpan, () => compute(name, own, dependencyOutcomes, claims));
    // A borrowed computation that failed elsewhere is computed here (its failure may not be ours).
    const retry: number[] = [];
    for (const [id, promise] of borrowed) {
      try {
        results.set(id, await promise);
      } catch {
        retry.push(id);
      }
    }
    if (outcome.ok && retry.length > 0) outcome = merge(outcome, await withContext(inSpan, () => compute(name, retry, dependencyOutcomes, [])));
    if (outcome.ok) outcome = { ok: true, results: new Map([...results, ...outcome.results]) };
    observer.capabilityFinished?.({ batchId, capability: name, texts: ids.length, durationMs: time.now() - began, ok: outcome.ok });
    span.setAttributes({ 'capserve.capability.computed': own.length + retry.length, 'capserve.capability.shared': ids.length - own.length - retry.length });
    endSpan(span, outcome.ok ? undefined : outcome);
    if (outcome.ok) stream(name, outcome.results);
    return outcome;
  };

  /** One execution of a capability over `ids`, with its dependencies' results for exactly those texts. */
  const compute = async (
    name: string,
    ids: readonly number[],
    dependencyOutcomes: readonly (readonly [string, Outcome | undefined])[],
    claims: readonly (Claim | undefined)[],
  ): Promise<Outcome> => {
    if (ids.length === 0) return { ok: true, results: new Map() };
    const capability = registry.get(name);
    const derivedFrom = capability.derived?.dependency;
    const dependencies = new Map<string, unknown[]>();
    let derived: unknown[][] | undefined;
    for (const [dependency, outcome] of dependencyOutcomes) {
      if (outcome?.ok !== true) continue;
      if (dependency === derivedFrom) {
        const byText = derivedIds.get(name);
        derived = ids.map((id) => (byText?.get(id) ?? []).map((derivedId) => outcome.results.get(derivedId)));
        if (capability.derived?.only === true) continue;
      }
      dependencies.set(dependency, ids.map((id) => outcome.results.get(id)));
    }
    executions += 1;
    const wanted = new Set(ids);
    const execution = executionSignal(entries.filter((_, k) => needs(k, name, wanted)));
    let outcome: Outcome;
    try {
      const results = await withTimeLimit(
        capability.run(
          ids.map((id) => texts[id] ?? ''),
          { dependencies, signal: execution.signal, ...(derived === undefined ? {} : { derived }) },
        ),
        deps,
      );
      outcome =
        Array.isArray(results) && results.length === ids.length
          ? { ok: true, results: new Map(ids.map((id, i) => [id, results[i]])) }
          : {
              ok: false,
              code: 'CAPABILITY_BAD_OUTPUT',
              message: `capability "${name}" returned ${Array.isArray(results) ? results.length : typeof results} results for ${ids.length} texts`,
            };
    } catch (error) {
      // A run past its time limit is abandoned: what it still has queued in a model need not run.
      if (error === timedOut) execution.abort(new CapserveError('CAPABILITY_TIMEOUT', `capability "${name}" did not finish within ${deps.capabilityTimeoutMs} ms`));
      outcome =
        error === timedOut
          ? { ok: false, code: 'CAPABILITY_TIMEOUT', message: `capability "${name}" did not finish within ${deps.capabilityTimeoutMs} ms` }
          : isCapserveError(error) && error.code === 'DEVICE_UNAVAILABLE'
            ? { ok: false, code: 'DEVICE_UNAVAILABLE', message: `capability "${name}": ${error.message}` }
            : { ok: false, code: 'CAPABILITY_FAILED', message: `capability "${name}" failed: ${messageOf(error)}` };
    } finally {
      execution.release();
    }
    claims.forEach((claim, i) => {
      if (outcome.ok) claim?.resolve(outcome.results.get(ids[i] ?? -1));
      else claim?.fail();
    });
    return outcome;
  };

  const stream = (name: string, results: ReadonlyMap<number, unknown>): void => {
    entries.forEach((entry, k) => {
      const onResult = entry.request.onResult;
      if (onResult === undefined || entry.settled || !entry.capabilities.includes(name)) return;
      try {
        textIds[k]?.forEach((id, index) => onResult({ capability: name, index, result: results.get(id) }));
      } catch {
        // A listener's fault is its own; the batch and the other requests go on.
      }
    });
  };

  const requested = entries.flatMap((entry) => entry.capabilities);
  const plan = registry.resolve(requested);
  for (const name of plan) outcomes.set(name, run(name));

  await Promise.all(
    entries.map(async (entry, k) => {
      const results: Record<string, unknown>[] = entry.request.texts.map(() => ({}));
      const failures: CapabilityFailure[] = [];
      for (const name of entry.capabilities) {
        const outcome = await outcomes.get(name);
        if (outcome === undefined) continue;
        if (!outcome.ok) {
          failures.push({ capability: name, code: outcome.code, message: outcome.message });
          continue;
        }
        textIds[k]?.forEach((id, index) => {
          const slot = results[index];
          if (slot !== undefined) slot[name] = outcome.results.get(id);
        });
      }
      const waitedMs = startedAt - entry.enqueuedAt;
      if (!entry.settled) {
        observer.requestFinished?.({ texts: entry.request.texts.length, waitedMs, ok: failures.length === 0 });
      }
      entry.resolve({ results, failures, batch: { id: batchId, texts: own, requests: entries.length, waitedMs } });
    }),
  );
  const naiveExecutions = entries.reduce((sum, entry) => sum + entry.closure.size, 0);
  observer.batchFinished?.({ id: batchId, executions, capabilities: plan.length, naiveExecutions, durationMs: time.now() - startedAt });
  trace.span.setAttribute('capserve.batch.executions', executions);
}

const timedOut = Symbol('timed out');

/**
 * The signal of one capability execution, given the requests whose texts it computes. One
 * execution is one model call over the union of their texts, so it is stopped only when it
 * serves no one: the signal aborts once every one of those requests has settled (cancelled, or
 * past its deadline), and the model call, if still queued, is dropped. While any of them waits
 * the execution runs for all. Another batch that borrowed this execution's results in flight
 * then sees it fail and computes those texts itself.
 */
function executionSignal(serving: readonly QueuedRequest[]): { readonly signal: AbortSignal; abort(reason: unknown): void; release(): void } {
  const controller = new AbortController();
  // A request's own abort listener (QueuedRequest.watchAbort) was added first, so it has settled by the time this runs.
  const abortIfAbandoned = (): void => {
    if (serving.every((entry) => entry.settled)) controller.abort(new CapserveError('REQUEST_CANCELLED', 'every request that needed this execution was cancelled'));
  };
  for (const entry of serving) entry.request.signal?.addEventListener('abort', abortIfAbandoned);
  abortIfAbandoned();
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    release: () => {
      for (const entry of serving) entry.request.signal?.removeEventListener('abort', abortIfAbandoned);
    },
  };
}

/** The run's results, or the `timedOut` symbol thrown when the time limit passes first (the run is then abandoned). */
function withTimeLimit<T>(run: Promise<T>, deps: ExecuteBatchDeps): Promise<T> {
  const { time, capabilityTimeoutMs } = deps;
  if (capabilityTimeoutMs === undefined) return run;
  return new Promise<T>((resolve, reject) => {
    const cancel = time.schedule(() => reject(timedOut), capabilityTimeoutMs);
    run.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        cancel();
        reject(error);
      },
    );
  });
}

function merge(a: Outcome, b: Outcome): Outcome {
  if (!a.ok) return a;
  if (!b.ok) return b;
  return { ok: true, results: new Map([...a.results, ...b.results]) };
}
