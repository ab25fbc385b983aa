import fc from 'fast-check';
import t from 'tap';
import { Batcher } from '../../batcher/batcher.js';
import { type BatchReply } from '../../batcher/types.js';
import { CapabilityRegistry } from '../../capabilities/registry.js';
import { ManualTime } from '../../core/manual-time.js';
import { recordingCapability } from '../helpers/recording-capability.js';

const texts = ['a', 'b', 'c', 'boom'];
const capabilityNames = ['base', 'left', 'right', 'top'];

type Op =
  | { readonly kind: 'submit'; readonly texts: string[]; readonly capabilities: string[] }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'cancel'; readonly which: number }
  | { readonly kind: 'settle' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('submit' as const),
    texts: fc.array(fc.constantFrom(...texts), { minLength: 1, maxLength: 4 }),
    capabilities: fc.uniqueArray(fc.constantFrom(...capabilityNames), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }),
  fc.constant({ kind: 'settle' as const }),
);

interface Tracked {
  readonly texts: string[];
  readonly capabilities: string[];
  readonly controller: AbortController;
  settlements: number;
  reply?: BatchReply;
  error?: { code?: string };
}

/**
 * For random interleavings of requests, cancellations, failures (the text "boom" makes "left"
 * throw) and clock moves, in both batching modes: every request settles exactly once; a reply
 * holds exactly its own texts' results for exactly its capabilities (or a failure naming the
 * capability); a cancelled request is rejected unless it had already been answered; and no
 * capability runs twice in one batch.
 */
t.test('every accepted request is answered exactly once, with exactly its own results', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.constantFrom('fixed' as const, 'adaptive' as const), async (ops, mode) => {
      const time = new ManualTime();
      const runs: { batchId: number; capability: string }[] = [];
      const registry = new CapabilityRegistry().register(
        recordingCapability('base'),
        recordingCapability('left', ['base'], { fail: (batch) => batch.includes('boom') }),
        recordingCapability('right', ['base']),
        recordingCapability('top', ['left', 'right']),
      );
      const batcher = new Batcher(
        registry,
        { windowMs: 10, maxBatchTexts: 6, mode, maxConcurrentBatches: 2 },
        { time, observer: { capabilityFinished: (e) => runs.push({ batchId: e.batchId, capability: e.capability }) } },
      );
      const tracked: Tracked[] = [];
      const settle = async (): Promise<void> => {
        for (let i = 0; i < 20; i += 1) await Promise.resolve();
      };

      for (const step of ops) {
        if (step.kind === 'submit') {
          const entry: Tracked = { texts: step.texts, capabilities: step.capabilities, controller: new AbortController(), settlements: 0 };
          tracked.push(entry);
          batcher.submit({ texts: step.texts, capabilities: step.capabilities, signal: entry.controller.signal }).then(
            (reply) => {
              entry.settlements += 1;
              entry.reply = reply;
            },
            (error: { code?: string }) => {
              entry.settlements += 1;
              entry.error = error;
            },
          );
        } else if (step.kind === 'advance') {
          time.advance(step.ms);
        } else if (step.kind === 'cancel') {
          tracked[step.which % Math.max(1, tracked.length)]?.controller.abort();
        } else {
          await settle();
        }
      }
      // Let every window close and every batch finish.
      for (let i = 0; i < 50 && tracked.some((e) => e.settlements === 0); i += 1) {
        time.advance(10);
        await settle();
      }
      await batcher.onIdle();
      await settle();

      for (const entry of tracked) {
        if (entry.settlements !== 1) return false;
        if (entry.error !== undefined) {
          if (entry.error.code !== 'REQUEST_CANCELLED' || !entry.controller.signal.aborted) return false;
          continue;
        }
        const reply = entry.reply;
        if (reply === undefined || reply.results.length !== entry.texts.length) return false;
        const failed = new Set(reply.failures.map((f) => f.capability));
        for (const [i, text] of entry.texts.entries()) {
          const result = reply.results[i] ?? {};
          for (const key of Object.keys(result)) if (!entry.capabilities.includes(key)) return false;
          for (const capability of entry.capabilities) {
            if (failed.has(capability)) continue;
            if (result[capability] !== `${capability}(${text})`) return false;
          }
        }
        for (const capability of failed) if (!entry.capabilities.includes(capability)) return false;
      }
      const perBatch = new Set<string>();
      for (const run of runs) {
        const key = `${run.batchId}:${run.capability}`;
        if (perBatch.has(key)) return false;
        perBatch.add(key);
      }
      return true;
    }),
    { numRuns: 300 },
  );
});
