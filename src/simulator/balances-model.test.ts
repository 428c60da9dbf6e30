// A model checker for the simulator's money rules, in the spirit of TigerBeetle's auditor: random
// captures, refunds and voids (seeded, so a failure replays) go through HTTP, and a model rebuilt
// from the requests predicts every answer. At the end the model's balances must explain every answer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningSimulator } from './index.ts';
import { authorizeCard, newReference, postJson, startTestSimulator } from './test-support.ts';

const authorizationCount = 4;
const operationCount = 300;
const seed = 20_261_125;

interface ModelAuthorization {
  readonly authorizationId: string;
  readonly approvedAmount: number;
  capturedAmount: number;
  refundedAmount: number;
  voided: boolean;
}

/** Mulberry32: a tiny deterministic generator, so a failing sequence can be replayed from the seed. */
function randomGenerator(start: number): () => number {
  let state = start;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function expectedCapture(model: ModelAuthorization, amount: number): string | undefined {
  if (model.voided) return 'authorization_voided';
  if (amount > model.approvedAmount - model.capturedAmount) return 'amount_exceeds_authorization';
  return undefined;
}

function expectedRefund(model: ModelAuthorization, amount: number): string | undefined {
  return amount > model.capturedAmount - model.refundedAmount ? 'amount_exceeds_captured' : undefined;
}

function expectedVoid(model: ModelAuthorization): string | undefined {
  if (model.voided) return 'authorization_voided';
  return model.capturedAmount > 0 ? 'already_captured' : undefined;
}

let simulator: RunningSimulator;

before(async () => {
  simulator = await startTestSimulator();
});

after(async () => {
  await simulator.close();
});

test('random captures, refunds and voids always match the balance model', async () => {
  const random = randomGenerator(seed);
  const models: ModelAuthorization[] = [];
  for (let index = 0; index < authorizationCount; index += 1) {
    const approvedAmount = 1000 + index * 250;
    const response = await authorizeCard(simulator.url, '4242424242424242', approvedAmount);
    const authorizationId = String(response.body.authorizationId);
    models.push({ authorizationId, approvedAmount, capturedAmount: 0, refundedAmount: 0, voided: false });
  }
  let accepted = 0;
  for (let step = 0; step < operationCount; step += 1) {
    const model = models[Math.floor(random() * models.length)];
    assert.ok(model);
    const amount = 1 + Math.floor(random() * 600);
    const choice = random();
    const operation = choice < 0.5 ? 'captures' : choice < 0.95 ? 'refunds' : 'voids';
    const expected =
      operation === 'captures'
        ? expectedCapture(model, amount)
        : operation === 'refunds'
          ? expectedRefund(model, amount)
          : expectedVoid(model);
    const body = { reference: newReference(operation), ...(operation !== 'voids' && { amount }) };
    const response = await postJson(
      simulator.url,
      `/v1/authorizations/${model.authorizationId}/${operation}`,
      body,
    );
    assert.equal(
      response.body.declineCode,
      expected,
      `step ${step}: ${operation} ${amount} on ${JSON.stringify(model)}`,
    );
    if (expected !== undefined) continue;
    accepted += 1;
    if (operation === 'captures') model.capturedAmount += amount;
    if (operation === 'refunds') model.refundedAmount += amount;
    if (operation === 'voids') model.voided = true;
  }
  // The sequence must exercise both sides, or the test proves little.
  assert.ok(accepted > 10 && accepted < operationCount - 10, `accepted ${accepted} of ${operationCount}`);
  for (const model of models) {
    assert.ok(model.capturedAmount <= model.approvedAmount && model.refundedAmount <= model.capturedAmount);
  }
});
