// The two timeout cards, seen by a client that gives up before the simulator answers, and the
// inquiry a janitor makes afterwards. Also: closing the simulator does not wait for slow answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { RunningSimulator } from './index.ts';
import {
  cardAuthorization,
  inquire,
  inquireUntil,
  newReference,
  postJson,
  startTestSimulator,
  type JsonResponse,
} from './test-support.ts';

// No test here races a client timeout against the simulator: on a loaded machine a 500 ms timeout
// could fire before the request even reached the simulator (the first fetch of a process is slow),
// and the test then saw nothing recorded. Each client gives up (aborts) only once the simulator is
// known to hold its request, and "before the answer" is shown by the answer not having come yet.
const slowResponseMs = 6_000;
/** How long a poll waits for what must happen; only a broken simulator needs it. */
const pollDeadlineMs = 60_000;

let simulator: RunningSimulator;

before(async () => {
  simulator = await startTestSimulator({ slowResponseMs });
});

after(async () => {
  await simulator.close();
});

interface Answer {
  readonly promise: Promise<JsonResponse>;
  /** Whether the answer (or the client's abort) has come yet. */
  settled: boolean;
}

/** Sends an authorization that its client can give up on (abort) at any moment. */
function authorizeAbortable(url: string, request: unknown, client: AbortController): Answer {
  const answer: Answer = {
    promise: postJson(url, '/v1/authorizations', request, client.signal),
    settled: false,
  };
  answer.promise.then(
    () => (answer.settled = true),
    () => (answer.settled = true),
  );
  return answer;
}

/** Polls `probe` until it answers; only a broken simulator makes it give up (after pollDeadlineMs). */
async function eventually<T>(probe: () => T | undefined): Promise<T> {
  const giveUpAt = Date.now() + pollDeadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < giveUpAt, 'the simulator did not get there');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function assertGaveUp(answer: Answer, client: AbortController): Promise<void> {
  client.abort();
  await assert.rejects(answer.promise, (error: Error) => error.name === 'AbortError');
}

test('4000000000003220 answers late after the acquirer approved: the inquiry finds the approval before the answer', async () => {
  // This simulator holds the answer for ten minutes: the inquiry comes before it however slow the machine.
  const patient = await startTestSimulator({ slowResponseMs: 600_000 });
  try {
    const request = cardAuthorization(newReference('late-answer'), '4000000000003220', 1200);
    const client = new AbortController();
    const first = authorizeAbortable(patient.url, request, client);
    const inquiry = await inquireUntil(
      patient.url,
      request.reference,
      (response) => response.statusCode === 200,
      pollDeadlineMs,
    );
    assert.equal(first.settled, false, 'the approval is found while its answer is still held');
    assert.equal(inquiry.statusCode, 200);
    assert.equal(inquiry.body.status, 'approved');
    assert.equal(inquiry.body.approvedAmount, 1200);
    await assertGaveUp(first, client);

    // A retry by reference replays the stored approval instead of waiting (ten minutes) again.
    const retry = await postJson(
      patient.url,
      '/v1/authorizations',
      request,
      AbortSignal.timeout(pollDeadlineMs),
    );
    assert.equal(retry.statusCode, 200);
    assert.equal(retry.body.authorizationId, inquiry.body.authorizationId);
  } finally {
    await patient.close();
  }
});

test('4000000000003238 times out before the acquirer decided: nothing is found until the delay ends', async () => {
  const request = cardAuthorization(newReference('late-record'), '4000000000003238', 1300);
  // Two clients send the same reference: whichever arrives first holds it for the delay, the other
  // is refused at once. Once one is refused, the reference is known to be held.
  const clients = [new AbortController(), new AbortController()] as const;
  const answers = clients.map((client) => authorizeAbortable(simulator.url, request, client));
  const refused = await Promise.race(answers.map((answer) => answer.promise));
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.body.error, 'reference_in_use');
  assert.equal((await inquire(simulator.url, request.reference)).statusCode, 404);
  const holder = answers.findIndex((answer) => !answer.settled);
  assert.notEqual(holder, -1, 'one request still waits for the decision');

  await assertGaveUp(answers[holder]!, clients[holder]!);
  const recorded = await inquireUntil(
    simulator.url,
    request.reference,
    (response) => response.statusCode === 200,
    slowResponseMs + pollDeadlineMs,
  );
  assert.equal(recorded.statusCode, 200);
  assert.equal(recorded.body.status, 'approved');
  assert.equal(recorded.body.approvedAmount, 1300);
});

test('latency delays the answer, not the decision: a client that gives up finds the operation recorded', async () => {
  const decided = new Set<string>();
  // The simulator's log says when it decided (the inquiry, delayed by the same latency, cannot).
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; reference?: string };
        if (entry.msg === 'authorization decided' && entry.reference) decided.add(entry.reference);
      },
    },
  );
  const laggy = await startTestSimulator({ latencyMs: 60_000, logger });
  try {
    const request = cardAuthorization(newReference('latency'), '4242424242424242');
    const client = new AbortController();
    const answer = authorizeAbortable(laggy.url, request, client);
    await eventually(() => (decided.has(request.reference) ? true : undefined));
    assert.equal(answer.settled, false, 'decided while the answer is still delayed');
    await assertGaveUp(answer, client);
    laggy.configureFaults({ latencyMs: 0 });
    const inquiry = await inquireUntil(
      laggy.url,
      request.reference,
      (response) => response.statusCode === 200,
      pollDeadlineMs,
    );
    assert.equal(inquiry.statusCode, 200);
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
