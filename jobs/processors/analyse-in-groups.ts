import { type BatchReply } from '../../batcher/types.js';
import { replyError } from '../../batcher/reply-error.js';
import { CapserveError } from '../../core/errors.js';

/** Runs texts through the batcher, as the inline path does. */
export type AnalyseTexts = (texts: string[], capabilities: string[], signal: AbortSignal) => Promise<BatchReply>;

/**
 * Each capability's results for every text, sent through the batcher `groupSize` texts at a
 * time (so a long job shares batches with inline requests instead of filling them). The first
 * failure fails the whole call with its code; an aborted signal stops between groups.
 */
export async function analyseInGroups(
  texts: readonly string[],
  capabilities: string[],
  options: { readonly analyse: AnalyseTexts; readonly groupSize: number; readonly signal: AbortSignal; readonly progress: (fraction: number) => void },
): Promise<Map<string, unknown[]>> {
  const perCapability = new Map<string, unknown[]>(capabilities.map((name) => [name, []]));
  for (let start = 0; start < texts.length; start += options.groupSize) {
    if (options.signal.aborted) throw new CapserveError('REQUEST_CANCELLED', 'the job was cancelled');
    const group = texts.slice(start, start + options.groupSize);
    const reply = await options.analyse(group, capabilities, options.signal);
    const failed = replyError(reply);
    if (failed !== undefined) throw failed;
    for (const result of reply.results) for (const name of capabilities) perCapability.get(name)?.push(result[name]);
    options.progress(Math.min(1, (start + group.length) / texts.length));
  }
  return perCapability;
}
