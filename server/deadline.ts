import { CapserveError } from '../core/errors.js';

/**
 * A signal that aborts when `parent` does (the client went away) or when `timeoutMs` passes; a
 * deadline aborts with a DEADLINE_EXCEEDED error as its reason, which the batcher answers with.
 * `clear` stops the timer once the request is answered.
 */
export function deadlineSignal(timeoutMs: number, parent?: AbortSignal): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new CapserveError('DEADLINE_EXCEEDED', `the request did not finish within ${timeoutMs} ms`, { details: { timeoutMs } })),
    timeoutMs,
  );
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted === true) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
