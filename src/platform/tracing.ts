// OpenTelemetry tracing (ADR 23). Off by default (OTEL_TRACES_EXPORTER=none): the SDK is not even
// loaded, every helper here is a call into the API's no-op tracer, and the database client is not
// wrapped. With `zipkin` or `otlp` one process-wide tracer provider exports batches of spans; the
// context lives in AsyncLocalStorage, so a span started in an HTTP request is the parent of the SQL,
// acquirer and outbox spans under it. Across the bus the W3C `traceparent` travels with each event
// (outbox → log → broker message), so a payment is one trace from its request to its webhook.
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { Config } from './config.ts';

export { SpanKind, type Span };

const tracerName = 'payflow';
const noopSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
let enabled = false;
let shutdown: (() => Promise<void>) | undefined;

/** Whether a tracer provider is installed in this process. */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Installs the tracer provider OTEL_TRACES_EXPORTER names (once per process; later calls are
 * no-ops). Returns a flush-and-stop function for the process's stop.
 */
export async function initTracing(
  config: Pick<
    Config,
    | 'otelTracesExporter'
    | 'otelServiceName'
    | 'otelExporterZipkinEndpoint'
    | 'otelExporterOtlpEndpoint'
    | 'otelSdkDisabled'
    | 'otelTracesSampler'
    | 'otelTracesSamplerArg'
  >,
): Promise<() => Promise<void>> {
  if (config.otelTracesExporter === 'none' || config.otelSdkDisabled || enabled) return async () => undefined;
  const [sdk, { AsyncLocalStorageContextManager }, core, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  const exporter =
    config.otelTracesExporter === 'zipkin'
      ? new (await import('@opentelemetry/exporter-zipkin')).ZipkinExporter({
          url: config.otelExporterZipkinEndpoint,
          serviceName: config.otelServiceName,
        })
      : new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({
          url: `${config.otelExporterOtlpEndpoint.replace(/\/+$/, '')}/v1/traces`,
        });
  const { BasicTracerProvider, BatchSpanProcessor } = sdk;
  const root = config.otelTracesSampler.endsWith('always_on')
    ? new sdk.AlwaysOnSampler()
    : config.otelTracesSampler.endsWith('always_off')
      ? new sdk.AlwaysOffSampler()
      : new sdk.TraceIdRatioBasedSampler(config.otelTracesSamplerArg);
  const sampler = config.otelTracesSampler.startsWith('parentbased_')
    ? new sdk.ParentBasedSampler({ root })
    : root;
  const provider = new BasicTracerProvider({
    sampler,
    resource: resources.resourceFromAttributes({ 'service.name': config.otelServiceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  shutdown = async () => {
    await provider.shutdown().catch(() => undefined);
  };
  return shutdown;
}

function tracer() {
  return trace.getTracer(tracerName);
}

/**
 * Runs `work` in a new span (a child of the active one, or of `parent` when given); the span ends
 * when `work` settles and records a thrown error. Off: calls `work` with a no-op span.
 */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (!enabled) return work(noopSpan);
  return tracer().startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes && { attributes: options.attributes }),
    },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.name : 'error',
        });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The active span's W3C `traceparent` (undefined when tracing is off or no span is active). */
export function currentTraceparent(): string | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'];
}

/** Adds `traceparent` (and `tracestate`) of the active span to outgoing HTTP headers. */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (enabled) propagation.inject(context.active(), headers);
  return headers;
}

/** The context a `traceparent` (an event's, an incoming request's) continues; the active one if none. */
export function contextFrom(traceparent: string | null | undefined, tracestate?: string): Context {
  if (!enabled || !traceparent) return context.active();
  return propagation.extract(context.active(), {
    traceparent,
    ...(tracestate !== undefined && { tracestate }),
  });
}

/** Runs `work` with `parent` as the active context (an HTTP request's span for its handler). */
export function runInContext<T>(parent: Context, work: () => T): T {
  return enabled ? context.with(parent, work) : work();
}

/**
 * `work` bound to the context active now: it runs under the caller's span wherever it is called
 * from (work handed to a batch that another request's call starts).
 */
export function bindToActiveContext<A extends unknown[], R>(work: (...args: A) => R): (...args: A) => R {
  return enabled ? context.bind(context.active(), work) : work;
}

/** Starts a span that the caller ends (an HTTP request's server span). */
export function startSpan(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
): Span | undefined {
  if (!enabled) return undefined;
  return tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes && { attributes: options.attributes }),
    },
    options.parent ?? context.active(),
  );
}

export function contextWithSpan(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

export function markSpanError(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * `trace_id` and `span_id` of the active span, for log lines (empty when off or outside a span).
 * Always a new object: pino's mixin merge assigns the log call's fields into it.
 */
export function traceLogFields(): Record<string, string> {
  if (!enabled) return {};
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
}
