// The two timeout cards, seen by a client whose timeout is shorter than slowResponseMs, and the
// inquiry a janitor makes afterwards. Also: closing the simulator does not wait for slow answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from './index.ts';
import {
  cardAuthorization,
  inquire,
  inquireUntil,
  newReference,
  postJson,
  startTestSimulator,
} from './test-support.ts';

const slowResponseMs = 6_000;
/** The client gives up long before the simulator answers. */
const clientTimeoutMs = 500;
/**
 * How long a test waits for a decision the simulator stores before it answers. Well below
 * slowResponseMs, so finding the decision still proves it was stored before the (late) answer, and
 * a loaded machine that schedules the inquiry a little late does not fail the test.
 */
const storedWithinMs = slowResponseMs / 3;

let simulator: RunningSimulator;

before(async () => {
  simulator = await startTestSimulator({ slowResponseMs });
});

after(async () => {
  await simulator.close();
});

async function assertClientTimesOut(request: unknown): Promise<void> {
  await assert.rejects(
    postJson(simulator.url, '/v1/authorizations', request, AbortSignal.timeout(clientTimeoutMs)),
    (error: Error) => error.name === 'TimeoutError',
  );
}

test('4000000000003220 times out after the acquirer approved: the inquiry already finds the approval', async () => {
  const request = cardAuthorization(newReference('late-answer'), '4000000000003220', 1200);
  await assertClientTimesOut(request);
  const inquiry = await inquireUntil(
    simulator.url,
    request.reference,
    (response) => response.statusCode === 200,
    storedWithinMs,
  );
  assert.equal(inquiry.statusCode, 200);
  assert.equal(inquiry.body.status, 'approved');
  assert.equal(inquiry.body.approvedAmount, 1200);

  // A retry by reference replays the stored approval instead of waiting again.
  const retry = await postJson(
    simulator.url,
    '/v1/authorizations',
    request,
    AbortSignal.timeout(slowResponseMs / 2),
  );
  assert.equal(retry.statusCode, 200);
  assert.equal(retry.body.authorizationId, inquiry.body.authorizationId);
});

test('4000000000003238 times out before the acquirer decided: nothing is found until the delay ends', async () => {
  const request = cardAuthorization(newReference('late-record'), '4000000000003238', 1300);
  await assertClientTimesOut(request);
  assert.equal((await inquire(simulator.url, request.reference)).statusCode, 404);

  const inFlight = await postJson(simulator.url, '/v1/authorizations', request);
  assert.equal(inFlight.statusCode, 409);
  assert.equal(inFlight.body.error, 'reference_in_use');

  const recorded = await inquireUntil(
    simulator.url,
    request.reference,
    (response) => response.statusCode === 200,
  );
  assert.equal(recorded.statusCode, 200);
  assert.equal(recorded.body.status, 'approved');
  assert.equal(recorded.body.approvedAmount, 1300);
});

test('latency delays the answer, not the decision: a client that gives up finds the operation recorded', async () => {
  const laggy = await startTestSimulator({ latencyMs: 60_000 });
  try {
    const request = cardAuthorization(newReference('latency'), '4242424242424242');
    await assert.rejects(
      postJson(laggy.url, '/v1/authorizations', request, AbortSignal.timeout(clientTimeoutMs)),
      (error: Error) => error.name === 'TimeoutError',
    );
    laggy.configureFaults({ latencyMs: 0 });
    const inquiry = await inquireUntil(
      laggy.url,
      request.reference,
      (response) => response.statusCode === 200,
      storedWithinMs,
    );
    assert.equal(inquiry.body.status, 'approved');
  } finally {
    await laggy.close();
  }
});

test(
  'closing the simulator answers slow requests with 503 instead of waiting for them',
  { timeout: 10_000 },
  async () => {
    const patient = await startTestSimulator({ slowResponseMs: 600_000 });
    const request = cardAuthorization(newReference('closing'), '4000000000003220');
    const pending = postJson(patient.url, '/v1/authorizations', request);
    await inquireUntil(patient.url, request.reference, (response) => response.statusCode === 200);
    await patient.close();
    const answer = await pending;
    assert.equal(answer.statusCode, 503);
    assert.equal(answer.body.error, 'acquirer_unavailable');
  },
);
