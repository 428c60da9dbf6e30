import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideReversal } from './acquirer-reversals.ts';

test('a reversal is done when the acquirer voided it or holds nothing, retried when unanswered', () => {
  assert.deepEqual(decideReversal({ type: 'succeeded', operationId: 'void_1' }), {
    type: 'reversed',
    acquirerVoidId: 'void_1',
  });
  for (const declineCode of ['authorization_voided', 'authorization_not_approved']) {
    assert.deepEqual(decideReversal({ type: 'declined', declineCode }), {
      type: 'nothing_to_reverse',
      declineCode,
    });
  }
  assert.equal(decideReversal({ type: 'unknown', reason: 'acquirer timed out' }).type, 'retry');
  assert.equal(decideReversal({ type: 'pending', operationId: 'void_2' }).type, 'retry');
});

test('a void the acquirer refuses for another reason goes to manual review, never retried or ignored', () => {
  for (const declineCode of ['already_captured', 'unknown_authorization', 'acquirer_rejected_request']) {
    assert.deepEqual(decideReversal({ type: 'declined', declineCode }), {
      type: 'manual_review',
      declineCode,
    });
  }
});
