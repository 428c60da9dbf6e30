// Tracing end to end (ADR 23) against a real trace backend: a Zipkin server from Maven Central.
// Two PayFlow processes share one database — `--role api` serves the request, `--role worker` runs
// the relay, the consumers and the webhook sender — both exporting to Zipkin. One payment must be
// one trace, found through Zipkin's own query API, holding the request, the payment phases, SQL,
// the acquirer call, the outbox, the bus, the consumer and the webhook delivery, from both
// processes; the API's log lines for the request carry the trace id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase } from './support/database.ts';
import { createMerchantCredentials, merchantSessionAt } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { startPayflowProcess } from './support/processes.ts';
import { startZipkin, zipkinUnavailable } from './support/zipkin.ts';

const unavailable = zipkinUnavailable();
// With a Kafka broker (CI starts one) the event crosses it, so the trace context travels in the
// broker message's envelope; without one, through the PostgreSQL bus's log.
const kafkaBrokers = process.env['KAFKA_BROKERS']?.trim() || undefined;

interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name?: string;
  readonly localEndpoint?: { readonly serviceName?: string };
}

test(
  'one payment is one trace in Zipkin across the API and the worker: request, phases, SQL, acquirer, outbox, bus, consumer, webhook',
  { skip: unavailable ?? false, timeout: 240_000 },
  async (t) => {
    const zipkin = await startZipkin();
    t.after(() => zipkin.stop());
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const acquirer = await startTestAcquirer();
    t.after(() => acquirer.close());
    const received: { traceparent: string | undefined }[] = [];
    const receiver = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push({ traceparent: request.headers['traceparent'] as string | undefined });
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

    const vaultMasterKey = randomBytes(32).toString('hex'); // one keyring for both processes
    const env = (service: string) =>
      paymentsEnv(acquirer.url, {
        DATABASE_URL: database.url,
        VAULT_MASTER_KEY: vaultMasterKey,
        ...(kafkaBrokers && {
          EVENT_BUS: 'kafka',
          KAFKA_BROKERS: kafkaBrokers,
          EVENT_BUS_PREFIX: `t${randomBytes(6).toString('hex')}`,
        }),
        EVENTS_POLL_INTERVAL_MS: '100',
        WEBHOOK_POLL_INTERVAL_MS: '100',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        OTEL_TRACES_EXPORTER: 'zipkin',
        OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${zipkin.url}/api/v2/spans`,
        OTEL_SERVICE_NAME: service,
      });
    const api = startPayflowProcess('api', env('payflow-api'));
    t.after(() => api.stop());
    const baseUrl = await api.ready;
    const worker = startPayflowProcess('worker', env('payflow-worker'));
    t.after(() => worker.stop());
    await worker.ready;

    const merchant = await merchantSessionAt(baseUrl, await createMerchantCredentials(database.sql));
    const { port } = receiver.address() as AddressInfo;
    const endpoint = await call(baseUrl, merchant, 'POST', '/webhooks/endpoints', {
      url: `http://127.0.0.1:${port}/hooks`,
      eventTypes: ['payment.authorized.v1'],
    });
    assert.equal(endpoint.status, 201, endpoint.text);
    const token = await tokenize(baseUrl, merchant);
    const authorized = await call(
      baseUrl,
      merchant,
      'POST',
      '/payments/authorize',
      authorizeBody(token, 2500),
    );
    assert.equal(authorized.status, 201, authorized.text);

    // The webhook arrives through the worker, carrying the payment's trace to the merchant.
    const deadline = Date.now() + 60_000;
    while (received.length === 0) {
      assert.ok(Date.now() < deadline, 'the webhook never arrived');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const traceparent = received[0]!.traceparent;
    assert.match(traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'the webhook carries a traceparent');
    const traceId = traceparent!.split('-')[1]!;

    // Zipkin's query API: the whole trace, once both processes have flushed their batches.
    const wanted = [
      /^post \/v1\/payments\/authorize$/,
      /^payments\.authorize$/,
      /^payments\.authorize\.phase1$/,
      /^payments\.authorize\.phase2$/,
      /^db (insert|select|update)/,
      /^acquirer post \/v1\/authorizations$/,
      /^events\.stage payment\.authorized\.v1$/,
      /^events\.publish payment\.authorized\.v1$/,
      /^events\.consume payment\.authorized\.v1$/,
      /^webhook\.deliver payment\.authorized\.v1$/,
    ];
    let spans: ZipkinSpan[] = [];
    const queryDeadline = Date.now() + 60_000;
    for (;;) {
      const response = await fetch(`${zipkin.url}/api/v2/trace/${traceId}`);
      spans = response.ok ? ((await response.json()) as ZipkinSpan[]) : [];
      const names = spans.map((span) => span.name ?? '');
      if (wanted.every((pattern) => names.some((name) => pattern.test(name)))) break;
      assert.ok(
        Date.now() < queryDeadline,
        `Zipkin's trace ${traceId} lacks spans; it has: ${[...new Set(names)].sort().join(', ')}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(spans.every((span) => span.traceId === traceId));
    t.diagnostic(`${spans.length} spans in one trace, over the ${kafkaBrokers ? 'Kafka' : 'PostgreSQL'} bus`);
    const services = new Set(spans.map((span) => span.localEndpoint?.serviceName));
    assert.ok(services.has('payflow-api') && services.has('payflow-worker'), [...services].join(','));
    // One tree: a single root (the request), every other span's parent in the trace.
    const ids = new Set(spans.map((span) => span.id));
    const roots = spans.filter((span) => span.parentId === undefined);
    assert.deepEqual(
      roots.map((span) => span.name),
      ['post /v1/payments/authorize'],
    );
    for (const span of spans) if (span.parentId) assert.ok(ids.has(span.parentId), `${span.name}: orphan`);
    const byName = (pattern: RegExp) => spans.find((span) => pattern.test(span.name ?? ''))!;
    const consume = byName(/^events\.consume /);
    const stage = byName(/^events\.stage /);
    assert.equal(consume.parentId, stage.id, 'the consumer continues the staging span');
    // The SQL statements are in the trace, their parameters never are.
    const statements = JSON.stringify(spans);
    assert.ok(!statements.includes('4242424242424242'), 'a card number reached a span');

    // Logs carry the trace id (the API's request lines).
    assert.ok(
      api.output.some((line) => line.includes(`"trace_id":"${traceId}"`)),
      'no API log line names the trace',
    );
  },
);
