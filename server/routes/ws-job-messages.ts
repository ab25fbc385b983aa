import { validationError } from '../../core/format-issues.js';
import { type JobEvent } from '../../jobs/types.js';
import { asCapserveError, CapserveError, isCapserveError } from '../../core/errors.js';
import { type ProcessFrontEnd } from '../../jobs/front-end.js';
import { jobMessageSchema as jobMessage, processMessageSchema as processMessage } from './ws-messages.js';
import { type JobOwners } from '../job-owners.js';
import { type WsConnection, type WsMessageHandler } from './ws-route.js';
import { type WsMessageOutcome } from './ws-message-log.js';
import { isWellFormedRequestId } from '../request-id.js';


/**
 * WebSocket messages for jobs: `process` (text through the job planner: inline results
 * stream like `classify`, queued jobs stream `queued`, `progress`, then `result` or `error`),
 * `subscribe` (stream an existing job's events) and `cancel`. `subscribe` and `cancel` reach
 * only jobs of the socket's owner (see `JobOwners`); any other id is JOB_NOT_FOUND, as if it
 * did not exist, so ids cannot be probed either.
 */
export function wsJobMessages(frontEnd: ProcessFrontEnd, owners: JobOwners): WsMessageHandler {
  return (message, socket, trace) => {
    const type = message.type;
    if (type !== 'process' && type !== 'subscribe' && type !== 'cancel') return false;
    const jobId = typeof message.jobId === 'string' ? message.jobId : undefined;
    handle(message, socket).then(
      (outcome) => trace.finish({ id: message.id, type, ...outcome }),
      (error: unknown) => {
        if (!isCapserveError(error)) socket.log.error({ err: error }, 'websocket job message failed');
        const coded = asCapserveError(error);
        socket.send({ ...(message.id === undefined ? {} : { id: message.id }), type: 'error', ...coded.toBody().error });
        trace.finish({ id: message.id, type, code: coded.code, ...(jobId !== undefined && isWellFormedRequestId(jobId) ? { jobId } : {}) });
      },
    );
    return true;
  };

  /** What the message came to, for its log line. */
  async function handle(message: Record<string, unknown>, socket: WsConnection): Promise<Omit<WsMessageOutcome, 'id' | 'type'>> {
    if (message.type === 'process') {
      const parsed = processMessage.safeParse(message);
      if (!parsed.success) throw validationError('message', parsed.error.issues);
      const { id: messageId, type: _type, traceparent: _traceparent, tracestate: _tracestate, ...input } = parsed.data;
      const started = performance.now();
      const outcome = await frontEnd.submit({ ...input, requestId: socket.requestId }, socket.signal, socket.log);
      if (outcome.kind === 'inline') {
        outcome.reply.results.forEach((result, index) => {
          for (const [capability, value] of Object.entries(result)) socket.send({ id: messageId, type: 'result', capability, index, result: value });
        });
        for (const failure of outcome.reply.failures) socket.send({ id: messageId, type: 'error', ...failure });
        socket.send({ id: messageId, type: 'done', route: outcome.plan, timingMs: performance.now() - started });
        return { capabilities: input.capabilities, batchIds: [outcome.reply.batch.id] };
      }
      owners.record(outcome.job.id, socket.owner);
      socket.send({ id: messageId, type: 'queued', jobId: outcome.job.id, route: outcome.plan });
      await follow(messageId, outcome.job.id, socket);
      return { capabilities: input.capabilities, jobId: outcome.job.id };
    }
    const parsed = jobMessage.safeParse(message);
    if (!parsed.success) throw validationError('message', parsed.error.issues);
    if (!owners.owns(parsed.data.jobId, socket.owner)) throw new CapserveError('JOB_NOT_FOUND', `no job "${parsed.data.jobId}"`);
    if (parsed.data.type === 'cancel') {
      const record = await frontEnd.cancel(parsed.data.jobId);
      socket.send({ id: parsed.data.id, type: 'cancelled', jobId: record.id });
      return { jobId: record.id };
    }
    await follow(parsed.data.id, parsed.data.jobId, socket);
    return { jobId: parsed.data.jobId };
  }

  /** Forwards a job's events until it ends or the socket closes. */
  async function follow(messageId: string | number, jobId: string, socket: WsConnection): Promise<void> {
    await new Promise<void>((resolve) => {
      let stop: (() => void) | undefined;
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        stop?.();
        socket.signal.removeEventListener('abort', end);
        resolve();
      };
      socket.signal.addEventListener('abort', end);
      void frontEnd
        .subscribe(jobId, (event: JobEvent) => {
          socket.send({ id: messageId, ...toMessage(event) });
          if (event.type !== 'progress') end();
        })
        .then((unsubscribe) => {
          // A finished job may have delivered its last event before subscribe returned.
          if (ended) unsubscribe();
          else stop = unsubscribe;
          if (socket.signal.aborted) end();
        }, (error: unknown) => {
          const coded = asCapserveError(error);
          socket.send({ id: messageId, type: 'error', ...coded.toBody().error });
          end();
        });
    });
  }
}

function toMessage(event: JobEvent): Record<string, unknown> {
  switch (event.type) {
    case 'progress':
      return { type: 'progress', jobId: event.jobId, progress: event.progress, ...(event.stage ? { stage: event.stage } : {}) };
    case 'result':
      return { type: 'result', jobId: event.jobId, result: event.result };
    case 'failed':
      return { type: 'error', jobId: event.jobId, ...event.error };
    case 'cancelled':
      return { type: 'cancelled', jobId: event.jobId };
  }
}
