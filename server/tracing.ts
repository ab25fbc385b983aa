import { context, diag, type DiagLogger, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type BufferConfig, type Sampler, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { type FastifyBaseLogger } from 'fastify';
import { messageOf } from '../core/errors.js';
import { buildInfo } from '../engine/build-info.js';
import { type ServerConfig } from './config.js';

/*
 * The OpenTelemetry SDK, installed here and nowhere else: the layers below make their spans over
 * the API alone (core/tracing.ts), which is a no-op until a provider is installed.
 */

/** An installed tracer provider, or none. */
export interface Tracing {
  /** Whether a provider is installed (spans are recorded and exported). */
  readonly enabled: boolean;
  /**
   * Exports the spans still buffered, waiting at most `timeoutMs` (a collector that does not
   * answer cannot hold a shutdown), then uninstalls the provider. Safe to call twice.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

export type TracingConfig = Pick<ServerConfig, 'otelExporterOtlpEndpoint' | 'otelExporterOtlpTracesEndpoint' | 'otelSdkDisabled' | 'otelServiceName'>;

export interface InstallTracingOptions {
  /** Where finished spans go: the OTLP/HTTP exporter in service; the SDK's `InMemorySpanExporter` in tests. */
  readonly exporter: SpanExporter;
  /**
   * `batch`: spans are queued (bounded) and exported in the background, so no request waits on an
   * export; `simple`: each span is handed to the exporter as it ends (tests read them at once).
   * @default "batch"
   */
  readonly processor?: 'batch' | 'simple';
  /** The batch processor's bounds; unset fields come from the standard OTEL_BSP_* variables, else the SDK's defaults. */
  readonly batch?: BufferConfig;
  /** @default "capserve" */
  readonly serviceName?: string;
  /** @default from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, else parent-based always-on */
  readonly sampler?: Sampler;
  /** Where export failures and SDK warnings go, at most one line a minute. @default nowhere */
  readonly logger?: FastifyBaseLogger;
}

const disabled: Tracing = { enabled: false, shutdown: async () => {} };

/** The OTLP/HTTP traces URL the configuration names, or undefined (tracing stays off). */
export function tracesUrl(config: TracingConfig): string | undefined {
  if (config.otelSdkDisabled) return undefined;
  if (config.otelExporterOtlpTracesEndpoint !== undefined) return config.otelExporterOtlpTracesEndpoint;
  if (config.otelExporterOtlpEndpoint === undefined) return undefined;
  return `${config.otelExporterOtlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Tracing as the configuration says: with OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set and OTEL_SDK_DISABLED not `true`, a provider that
 * exports over OTLP/HTTP behind a bounded batch processor; otherwise nothing is installed.
 * The exporter reads OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TIMEOUT itself.
 */
export function startTracing(config: TracingConfig, logger: FastifyBaseLogger, batch?: BufferConfig): Tracing {
  const url = tracesUrl(config);
  if (url === undefined) return disabled;
  const tracing = installTracing({ exporter: new OTLPTraceExporter({ url }), serviceName: config.otelServiceName, logger, ...(batch === undefined ? {} : { batch }) });
  logger.info({ url, serviceName: config.otelServiceName }, 'tracing on: spans exported over OTLP/HTTP');
  return tracing;
}

/**
 * Installs a tracer provider as the process's global one, with the W3C trace-context propagator
 * and the async-local-storage context manager. One at a time: shut it down before installing
 * another (tests do; a server installs one at start).
 */
export function installTracing(options: InstallTracingOptions): Tracing {
  const { exporter } = options;
  const processor = options.processor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, options.batch);
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, read by the SDK's detector, win over ours.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? 'capserve', [ATTR_SERVICE_VERSION]: buildInfo().version }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor], ...(options.sampler === undefined ? {} : { sampler: options.sampler }) });
  const logger = options.logger;
  if (logger !== undefined) {
    const report = throttled(logger);
    setGlobalErrorHandler((error) => report(`tracing export failed: ${messageOf(error)}`));
    diag.setLogger(diagTo(report), DiagLogLevel.WARN);
  }
  provider.register();
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown(timeoutMs = 5000) {
      stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
          timer.unref();
        });
        await Promise.race([provider.shutdown().catch(() => undefined), bound]);
        clearTimeout(timer);
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      })();
      return stopped;
    },
  };
}

/** A warning at most once a minute, with how many were held back since the last. */
function throttled(logger: FastifyBaseLogger, intervalMs = 60_000): (message: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  let held = 0;
  return (message) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      held += 1;
      return;
    }
    last = now;
    logger.warn(held === 0 ? { tracing: true } : { tracing: true, suppressed: held }, message);
    held = 0;
  };
}

function diagTo(report: (message: string) => void): DiagLogger {
  const write = (message: string): void => report(`tracing: ${message}`);
  return { error: write, warn: write, info: () => {}, debug: () => {}, verbose: () => {} };
}
