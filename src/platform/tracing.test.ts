import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  contextFrom,
  currentTraceparent,
  initTracing,
  traceLogFields,
  tracingEnabled,
  withSpan,
} from './tracing.ts';

const settings = {
  otelServiceName: 'payflow-unit',
  otelExporterZipkinEndpoint: 'http://127.0.0.1:9/api/v2/spans',
  otelExporterOtlpEndpoint: 'http://127.0.0.1:9',
  otelSdkDisabled: false,
  otelTracesSamplerArg: 1,
} as const;

test('tracing: off by default, then on with a sampler; the trace context travels by traceparent', async () => {
  // Off: nothing installed, spans are no-ops, no context to carry, no log fields.
  await initTracing({ ...settings, otelTracesExporter: 'none', otelTracesSampler: 'parentbased_always_on' });
  await initTracing({
    ...settings,
    otelTracesExporter: 'zipkin',
    otelSdkDisabled: true,
    otelTracesSampler: 'always_on',
  });
  assert.equal(tracingEnabled(), false);
  assert.equal(await withSpan('off', {}, async () => currentTraceparent()), undefined);
  assert.deepEqual(traceLogFields(), {});

  // On, with every new trace sampled out: ids still flow (flags 00), a parent's trace id is kept.
  const stop = await initTracing({
    ...settings,
    otelTracesExporter: 'zipkin',
    otelTracesSampler: 'always_off',
  });
  try {
    assert.equal(tracingEnabled(), true);
    const root = await withSpan('root', {}, async () => currentTraceparent());
    assert.match(root ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const child = await withSpan('child', { parent: contextFrom(incoming) }, async () => ({
      traceparent: currentTraceparent(),
      log: traceLogFields(),
    }));
    assert.equal(child.traceparent?.split('-')[1], '0af7651916cd43dd8448eb211c80319c');
    assert.equal(child.log['trace_id'], '0af7651916cd43dd8448eb211c80319c');
    assert.notEqual(child.traceparent?.split('-')[2], 'b7ad6b7169203331', 'a new span id under the parent');
    await assert.rejects(
      withSpan('failing', {}, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
  } finally {
    await stop();
  }
});

test('a log call’s fields never leak into the next line through the trace mixin', async () => {
  const { createLogger } = await import('./log.ts');
  const { Writable } = await import('node:stream');
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger({ level: 'info', destination });
  log.info({ leaked: 'first call only' }, 'one');
  log.info('two');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /first call only/);
  assert.doesNotMatch(lines[1]!, /leaked/);
});
