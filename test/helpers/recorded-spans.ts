import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type Test } from 'tap';
import { installTracing } from '../../server/tracing.js';

/** A span's own id, its trace's id and its parent's id. */
export const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
export const traceOf = (span: ReadableSpan): string => span.spanContext().traceId;
export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

export interface RecordedSpans {
  /** Every span that has ended since the last test began. */
  spans(): ReadableSpan[];
  named(name: string): ReadableSpan[];
  /** Forgets the spans so far. */
  reset(): void;
}

/**
 * Installs tracing for the whole test file (tap runs each file in its own process) with the SDK's
 * in-memory exporter, each span handed over as it ends; forgets the spans before each test.
 */
export function recordSpans(t: Test): RecordedSpans {
  const exporter = new InMemorySpanExporter();
  const tracing = installTracing({ exporter, processor: 'simple' });
  t.teardown(() => tracing.shutdown());
  t.beforeEach(() => exporter.reset());
  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  return { spans, named: (name) => spans().filter((span) => span.name === name), reset: () => exporter.reset() };
}
