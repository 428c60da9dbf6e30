// The fault controls a chaos harness drives from another process (PUT /_simulator/faults): delays
// before and after the decision, 5xx after it, the clock moved; and the state file that lets a
// simulator killed and started again know every operation it answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, appendFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  cardAuthorization,
  getJson,
  inquire,
  inquireUntil,
  newReference,
  postJson,
  startTestSimulator,
} from './test-support.ts';

async function putFaults(
  url: string,
  body: unknown,
): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/_simulator/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { statusCode: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('PUT /_simulator/faults changes faults while running; GET reads them; nonsense is refused', async () => {
  const simulator = await startTestSimulator();
  try {
    assert.deepEqual((await getJson(simulator.url, '/_simulator/faults')).body, {
      latencyMs: 0,
      failureRate: 0,
      delayBeforeDecisionMs: 0,
      errorAfterDecisionRate: 0,
      clockOffsetMs: 0,
    });
    const changed = await putFaults(simulator.url, { failureRate: 1, clockOffsetMs: -3_600_000 });
    assert.equal(changed.statusCode, 200);
    assert.equal(changed.body.failureRate, 1);
    assert.equal(changed.body.clockOffsetMs, -3_600_000);
    const refused = await postJson(
      simulator.url,
      '/v1/authorizations',
      cardAuthorization(newReference('outage'), '4242424242424242'),
    );
    assert.equal(refused.statusCode, 503);
    for (const nonsense of [
      { failureRate: 2 },
      { latencyMs: -1 },
      { delayBeforeDecisionMs: 1.5 },
      { other: 1 },
    ])
      assert.equal((await putFaults(simulator.url, nonsense)).statusCode, 400, JSON.stringify(nonsense));
    assert.equal((await putFaults(simulator.url, { failureRate: 0 })).statusCode, 200);
    const approved = await postJson(
      simulator.url,
      '/v1/authorizations',
      cardAuthorization(newReference('after'), '4242424242424242'),
    );
    assert.equal(approved.statusCode, 200);
  } finally {
    await simulator.close();
  }
});

test('a delay before the decision: a client that gave up finds nothing, then the approval once the delay ends', async () => {
  const simulator = await startTestSimulator();
  try {
    await putFaults(simulator.url, { delayBeforeDecisionMs: 1_500 });
    const request = cardAuthorization(newReference('before'), '4242424242424242');
    await assert.rejects(
      postJson(simulator.url, '/v1/authorizations', request, AbortSignal.timeout(200)),
      (error: Error) => error.name === 'TimeoutError',
    );
    assert.equal((await inquire(simulator.url, request.reference)).statusCode, 404);
    const recorded = await inquireUntil(simulator.url, request.reference, (r) => r.statusCode === 200, 5_000);
    assert.equal(recorded.body.status, 'approved');
  } finally {
    await simulator.close();
  }
});

test('a 5xx after the decision: the answer is 500, the approval is recorded and a retry replays it', async () => {
  const simulator = await startTestSimulator();
  try {
    await putFaults(simulator.url, { errorAfterDecisionRate: 1 });
    const request = cardAuthorization(newReference('5xx'), '4242424242424242');
    const failed = await postJson(simulator.url, '/v1/authorizations', request);
    assert.equal(failed.statusCode, 500);
    assert.equal(failed.body.error, 'internal_error');
    assert.equal((await inquire(simulator.url, request.reference)).body.status, 'approved');
    await putFaults(simulator.url, { errorAfterDecisionRate: 0 });
    const replayed = await postJson(simulator.url, '/v1/authorizations', request);
    assert.equal(replayed.statusCode, 200);
    assert.equal(replayed.body.status, 'approved');
    assert.equal((await getJson(simulator.url, '/v1/authorizations')).body.data instanceof Array, true);
  } finally {
    await simulator.close();
  }
});

test("the clock moved: a capture lands in the settlement report of the simulator's day", async () => {
  const simulator = await startTestSimulator();
  try {
    const twoDays = 2 * 86_400_000;
    await putFaults(simulator.url, { clockOffsetMs: twoDays });
    const authorized = await postJson(
      simulator.url,
      '/v1/authorizations',
      cardAuthorization(newReference('clock'), '4242424242424242'),
    );
    const reference = newReference('clock-capture');
    const captured = await postJson(
      simulator.url,
      `/v1/authorizations/${authorized.body.authorizationId as string}/captures`,
      { reference, amount: 400 },
    );
    assert.equal(captured.body.status, 'captured');
    const day = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().slice(0, 10);
    const report = async (date: string) =>
      (await fetch(`${simulator.url}/v1/settlement-reports/${date}`)).text();
    // Near midnight the moved clock may have read the next day already: accept either later day.
    const later = (await report(day(twoDays))) + (await report(day(twoDays + 3_600_000)));
    assert.ok(later.includes(reference), later);
    assert.ok(!(await report(day(0))).includes(reference));
  } finally {
    await simulator.close();
  }
});

test('with a state file, a simulator started again knows every operation it answered', async () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'simulator-state-'));
  const stateFile = path.join(directory, 'state.jsonl');
  try {
    const first = await startTestSimulator({ stateFile });
    const request = cardAuthorization(newReference('kept'), '4242424242424242', 1000);
    const authorized = await postJson(first.url, '/v1/authorizations', request);
    const authorizationId = authorized.body.authorizationId as string;
    const capture = { reference: newReference('kept-capture'), amount: 600 };
    assert.equal(
      (await postJson(first.url, `/v1/authorizations/${authorizationId}/captures`, capture)).body.status,
      'captured',
    );
    const before = (await getJson(first.url, '/v1/authorizations')).body.data;
    await first.close();
    // A kill in the middle of a write leaves half a line: it is skipped.
    appendFileSync(stateFile, '{"type":"authorization","sta');

    const second = await startTestSimulator({ stateFile });
    try {
      assert.deepEqual((await getJson(second.url, '/v1/authorizations')).body.data, before);
      assert.deepEqual((await postJson(second.url, '/v1/authorizations', request)).body, authorized.body);
      assert.equal((await inquire(second.url, capture.reference)).body.status, 'captured');
      const mismatch = await postJson(second.url, '/v1/authorizations', { ...request, amount: 999 });
      assert.equal(mismatch.statusCode, 409);
      const over = await postJson(second.url, `/v1/authorizations/${authorizationId}/captures`, {
        reference: newReference('over'),
        amount: 500,
      });
      assert.equal(over.body.declineCode, 'amount_exceeds_authorization');
      const rest = await postJson(second.url, `/v1/authorizations/${authorizationId}/captures`, {
        reference: newReference('rest'),
        amount: 400,
      });
      assert.equal(rest.body.status, 'captured');
    } finally {
      await second.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
