// Event-bus and webhook gauges on GET /metrics, read at scrape time from the database: outbox lag,
// consumer lag and retries per group, dead letters. The server runs with role `api` (no jobs), and
// this test drives a real events module of its own (its public face and jobs) against the same
// database, with a consumer group whose handler waits on a gate and always fails for one event.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { adminToken } from './support/identity.ts';
import { loadConfiguration } from '../src/apps/configuration.ts';
import { createLogger } from '../src/platform/log.ts';
import { newId } from '../src/platform/ids.ts';
import type { Job, ModuleRuntime } from '../src/platform/module.ts';
import { eventsModule, type EventsFace } from '../src/modules/events/index.ts';

const group = 'metrics-test';

let server: TestServer;
let token: string;
let runtime: ModuleRuntime & { face?: unknown };
const jobs = new AbortController();
let clockOffsetMs = 0;

before(async () => {
  server = await startTestServer({ role: 'api' });
  await server.database.sql`select 1`; // connected first: postgres.js then knows the array types
  token = await adminToken(server);
});
after(async () => {
  jobs.abort();
  await runtime?.close?.();
  await server.close();
});

interface Scrape {
  readonly text: string;
  /** The sample `name{labels}` (labels as Prometheus prints them), or undefined when absent. */
  sample(name: string): number | undefined;
}

async function scrape(): Promise<Scrape> {
  const response = await fetch(`${server.baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { text, sample: (name) => samples.get(name) };
}

function jobNamed(name: string): Job {
  const job = runtime.jobs?.find((candidate) => candidate.name === name);
  assert.ok(job, `the events module has a ${name} job`);
  return job;
}

test('outbox, consumer-group and dead-letter gauges follow the bus', async () => {
  const configuration = loadConfiguration({ EVENTS_MAX_ATTEMPTS: '2', EVENTS_RETRY_BASE_MS: '60000' });
  runtime = await eventsModule.create!(
    {
      ...configuration,
      sql: server.database.sql,
      log: createLogger({ level: 'silent' }),
      clock: { now: () => new Date(Date.now() + clockOffsetMs) },
    },
    {},
  );
  const events = runtime.face as EventsFace;
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  let entered: () => void = () => undefined;
  const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
  events.subscribe(group, [], async (event) => {
    entered();
    await gate;
    if (event.payload['poison'] === true) throw new Error('poison event: this handler always fails');
  });

  const baseline = await scrape();
  assert.equal(baseline.sample('payflow_events_outbox_unpublished'), 0);
  assert.equal(baseline.sample('payflow_events_outbox_lag_seconds'), 0);
  assert.equal(baseline.sample('payflow_events_dead_letters'), 0);
  assert.equal(baseline.sample(`payflow_events_consumer_lag{group="${group}"}`), undefined);
  assert.equal(baseline.sample('payflow_webhooks_deliveries_pending'), 0);
  assert.equal(baseline.sample('payflow_webhooks_endpoints_disabled'), 0);

  const poisoned = newId('pay');
  const healthy = newId('pay');
  for (const [aggregateId, payload] of [
    [poisoned, { poison: true }],
    [healthy, { sequence: 1 }],
    [healthy, { sequence: 2 }],
  ] as const) {
    await server.database.sql.begin((transaction) =>
      events.stage(transaction, {
        type: 'payment.captured.v1',
        aggregateId,
        merchantId: 'mer_metrics',
        payload,
        occurredAt: new Date(),
      }),
    );
  }
  const staged = await scrape();
  assert.equal(staged.sample('payflow_events_outbox_unpublished'), 3);
  assert.ok(staged.sample('payflow_events_outbox_lag_seconds')! > 0, staged.text);

  await jobNamed('events-relay').run(jobs.signal);
  const published = await scrape();
  assert.equal(published.sample('payflow_events_outbox_unpublished'), 0);
  assert.equal(published.sample('payflow_events_outbox_lag_seconds'), 0);

  // The handler holds the first event: the group's offset has not moved, three events are behind.
  const consuming = jobNamed('events-consumers').run(jobs.signal);
  await handlerEntered;
  const held = await scrape();
  assert.equal(held.sample(`payflow_events_consumer_lag{group="${group}"}`), 3);
  assert.equal(held.sample(`payflow_events_consumer_retrying{group="${group}"}`), 0);

  openGate();
  await consuming;
  const retrying = await scrape();
  assert.equal(retrying.sample(`payflow_events_consumer_lag{group="${group}"}`), 0);
  assert.equal(retrying.sample(`payflow_events_consumer_retrying{group="${group}"}`), 1);
  assert.equal(retrying.sample('payflow_events_dead_letters'), 0);

  clockOffsetMs = 3_600_000; // the retry is due: its second and last attempt fails too
  await jobNamed('events-consumers').run(jobs.signal);
  const dead = await scrape();
  assert.equal(dead.sample(`payflow_events_consumer_retrying{group="${group}"}`), 0);
  assert.equal(dead.sample(`payflow_events_consumer_lag{group="${group}"}`), 0);
  assert.equal(dead.sample('payflow_events_dead_letters'), 1);
});

test('a database that does not answer leaves the figures out; /metrics still answers', async () => {
  const blocker = await server.database.sql.reserve();
  try {
    await blocker`begin`;
    await blocker`lock table events.dead_letters in access exclusive mode`;
    const blocked = await scrape();
    assert.doesNotMatch(blocked.text, /^payflow_events_\w+(\{[^}]*\})? /m, 'no event-bus samples');
    assert.match(blocked.text, /^payflow_http_requests_total\{/m);
    assert.equal(blocked.sample('payflow_webhooks_deliveries_pending'), 0, 'other sources still answer');
    await blocker`commit`;
  } finally {
    blocker.release();
  }
  const answered = await scrape();
  assert.equal(typeof answered.sample('payflow_events_dead_letters'), 'number');
  assert.equal(typeof answered.sample('payflow_events_outbox_unpublished'), 'number');
});
