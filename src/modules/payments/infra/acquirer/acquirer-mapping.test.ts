import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authorizationOutcomeOf,
  authorizationRequestBody,
  inquiryOutcomeOf,
  operationOutcomeOf,
} from './acquirer-mapping.ts';

const secret = (value: string) => ({ reveal: () => value, toString: () => '[redacted]' });

test('an approved answer maps to approved with the acquirer id and amount', () => {
  const outcome = authorizationOutcomeOf('pay_1.authorization', 200, {
    reference: 'pay_1.authorization',
    authorizationId: 'authorization_abc',
    status: 'approved',
    approvedAmount: 1000,
    currency: 'USD',
    method: 'card',
  });
  assert.deepEqual(outcome, {
    type: 'approved',
    acquirerAuthorizationId: 'authorization_abc',
    approvedAmount: 1000n,
  });
});

test('declines and processing errors keep their codes', () => {
  const base = { reference: 'r', authorizationId: 'a', currency: 'USD', method: 'card' };
  assert.deepEqual(
    authorizationOutcomeOf('r', 200, { ...base, status: 'declined', declineCode: 'lost_card' }),
    {
      type: 'declined',
      declineCode: 'lost_card',
      acquirerAuthorizationId: 'a',
    },
  );
  assert.equal(
    (
      authorizationOutcomeOf('r', 200, { ...base, status: 'error', declineCode: 'processing_error' }) as {
        declineCode: string;
      }
    ).declineCode,
    'processing_error',
  );
});

test('an answer that fails validation is an unknown outcome, never a decline or a crash', () => {
  const invalid: unknown[] = [
    null,
    'approved',
    { status: 'approved' },
    { reference: 'r', authorizationId: 'a', status: 'approved' },
    { reference: 'r', authorizationId: 'a', status: 'approved', approvedAmount: '1000' },
    { reference: 'r', authorizationId: 'a', status: 'maybe' },
    { reference: 'r', authorizationId: 'a', status: 'declined', declineCode: 'DROP TABLE' },
    { reference: 'r', authorizationId: 'a', status: 'requires_action' },
    { reference: 'other', authorizationId: 'a', status: 'approved', approvedAmount: 5 },
  ];
  for (const body of invalid)
    assert.equal(authorizationOutcomeOf('r', 200, body).type, 'unknown', JSON.stringify(body));
  assert.equal(authorizationOutcomeOf('r', 503, { error: 'acquirer_unavailable' }).type, 'unknown');
  assert.equal(authorizationOutcomeOf('r', 409, { error: 'reference_in_use' }).type, 'unknown');
  assert.equal(authorizationOutcomeOf('r', 500, '<html>').type, 'unknown');
});

test('a 400 invalid_request recorded nothing: a definitive refusal', () => {
  assert.deepEqual(authorizationOutcomeOf('r', 400, { error: 'invalid_request' }), {
    type: 'declined',
    declineCode: 'acquirer_rejected_request',
  });
});

test('operation answers: success, refund pending, declines, wrong kind of status', () => {
  const base = { reference: 'r', authorizationId: 'a' };
  assert.deepEqual(
    operationOutcomeOf('capture', 'r', 200, { ...base, captureId: 'c', status: 'captured', amount: 5 }),
    {
      type: 'succeeded',
      operationId: 'c',
    },
  );
  assert.equal(
    operationOutcomeOf('refund', 'r', 200, { ...base, refundId: 'f', status: 'pending', amount: 5 }).type,
    'pending',
  );
  assert.deepEqual(
    operationOutcomeOf('void', 'r', 200, {
      ...base,
      voidId: 'v',
      status: 'declined',
      declineCode: 'already_captured',
    }),
    { type: 'declined', declineCode: 'already_captured' },
  );
  assert.equal(
    operationOutcomeOf('capture', 'r', 200, { ...base, captureId: 'c', status: 'voided' }).type,
    'unknown',
  );
  assert.equal(operationOutcomeOf('capture', 'r', 200, { ...base, status: 'captured' }).type, 'unknown');
});

test('an inquiry that finds nothing says so; other failures are unknown', () => {
  assert.deepEqual(
    inquiryOutcomeOf(404, { error: 'unknown_reference' }, () => 'x'),
    { type: 'not_found' },
  );
  assert.equal(inquiryOutcomeOf(404, { error: 'not_found' }, () => 'x').type, 'unknown');
  assert.deepEqual(
    inquiryOutcomeOf(200, {}, () => 'mapped'),
    { type: 'found', outcome: 'mapped' },
  );
});

test('the request body reveals card data only for the matching method', () => {
  const card = {
    kind: 'card' as const,
    number: secret('4242424242424242'),
    expMonth: 1,
    expYear: 2030,
    cvc: secret('123'),
  };
  const call = { reference: 'r', amount: 10n, currency: 'USD' as const, credentials: card };
  const body = authorizationRequestBody('card', call) as {
    card: { number: string; cvc: string };
    amount: number;
  };
  assert.equal(body.card.number, '4242424242424242');
  assert.equal(body.card.cvc, '123');
  assert.equal(body.amount, 10);
  assert.throws(() => authorizationRequestBody('wallet', call));
  assert.equal('card' in authorizationRequestBody('bank_redirect', call), false);
});
