import { type BatchReply } from '../../batcher/types.js';
import { CapserveError } from '../../core/errors.js';

/** Runs texts through the batcher, as the inline path does. */
export type ClassifyTexts = (texts: string[], capabilities: string[], signal: AbortSignal) => Promise<BatchReply>;

/**
 * Each capability's results for every text, sent through the batcher `groupSize` texts at a
 * time (so a long job shares batches with inline requests instead of filling them). The first
 * failure fails the whole call with its code; an aborted signal stops between groups.
 */
export async function classifyInGroups(
  texts: readonly string[],
  capabilities: string[],
  options: { readonly classify: ClassifyTexts; readonly groupSize: number; readonly signal: AbortSignal; readonly progress: (fraction: number) => void },
): Promise<Map<string, unknown[]>> {
  const perCapability = new Map<string, unknown[]>(capabilities.map((name) => [name, []]));
  for (let start = 0; start < texts.length; start += options.groupSize) {
    if (options.signal.aborted) throw new CapserveError('REQUEST_CANCELLED', 'the job was cancelled');
    const group = texts.slice(start, start + options.groupSize);
    const reply = await options.classify(group, capabilities, options.signal);
    const [failure] = reply.failures;
    if (failure !== undefined) throw new CapserveError(failure.code, failure.message, { details: { failures: reply.failures } });
    for (const result of reply.results) for (const name of capabilities) perCapability.get(name)?.push(result[name]);
    options.progress(Math.min(1, (start + group.length) / texts.length));
  }
  return perCapability;
}
