import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCapture,
  checkRefund,
  isFinalStatus,
  paymentActions,
  paymentStatuses,
  planCapture,
  planRefund,
  stateDiagramMermaid,
  statusAfterRefund,
  transition,
  type PaymentAction,
  type PaymentStatus,
} from './payment-state.ts';

// The expected life cycle, written apart from the implementation's table: `→STATUS/effect` is
// allowed, anything else is the refusal code. Columns follow `paymentActions`.
const expectedGrid = `
PENDING            | →AUTHORIZED/authorization_hold | →FAILED/none  | →REQUIRES_ACTION/none   | →CAPTURED/authorization_hold_and_capture | payment_pending         | payment_pending                 | payment_pending        | payment_pending         | payment_pending
REQUIRES_ACTION    | →AUTHORIZED/authorization_hold | →FAILED/none  | payment_requires_action | →CAPTURED/authorization_hold_and_capture | payment_requires_action | payment_requires_action         | payment_requires_action | →VOIDED/none           | →EXPIRED/none
AUTHORIZED         | already_authorized | already_authorized | already_authorized | already_authorized | →CAPTURED/capture | payment_not_captured             | payment_not_captured   | →VOIDED/release_hold | →EXPIRED/release_hold
CAPTURED           | already_captured   | already_captured   | already_captured   | already_captured   | already_captured  | →PARTIALLY_REFUNDED/refund       | →REFUNDED/refund       | already_captured     | already_captured
PARTIALLY_REFUNDED | already_captured   | already_captured   | already_captured   | already_captured   | already_captured  | →PARTIALLY_REFUNDED/refund       | →REFUNDED/refund       | already_captured     | already_captured
REFUNDED           | already_captured   | already_captured   | already_captured   | already_captured   | already_captured  | payment_fully_refunded           | payment_fully_refunded | already_captured     | already_captured
VOIDED             | payment_voided     | payment_voided     | payment_voided     | payment_voided     | payment_voided    | payment_voided                   | payment_voided         | payment_voided       | payment_voided
FAILED             | payment_failed     | payment_failed     | payment_failed     | payment_failed     | payment_failed    | payment_failed                   | payment_failed         | payment_failed       | payment_failed
EXPIRED            | payment_expired    | payment_expired    | payment_expired    | payment_expired    | payment_expired   | payment_expired                  | payment_expired        | payment_expired      | payment_expired
`;

function expectedCells(): Map<string, string> {
  const cells = new Map<string, string>();
  const rows = expectedGrid.trim().split('\n');
  assert.equal(rows.length, paymentStatuses.length);
  for (const row of rows) {
    const [status, ...columns] = row.split('|').map((cell) => cell.trim());
    assert.equal(columns.length, paymentActions.length, `row ${status}`);
    columns.forEach((cell, index) => cells.set(`${status} ${paymentActions[index]}`, cell));
  }
  return cells;
}

test('every (status, action) pair of the table matches the expected life cycle', () => {
  const cells = expectedCells();
  let checked = 0;
  for (const status of paymentStatuses) {
    for (const action of paymentActions) {
      const expected = cells.get(`${status} ${action}`);
      assert.ok(expected !== undefined, `${status} ${action} missing from the expected grid`);
      const result = transition(status, action);
      if (expected.startsWith('→')) {
        const [next, ledgerEffect] = expected.slice(1).split('/');
        assert.deepEqual(result, { ok: true, next, ledgerEffect }, `${status} ${action}`);
      } else {
        assert.equal(result.ok, false, `${status} ${action} should be refused`);
        if (!result.ok) {
          assert.equal(result.code, expected, `${status} ${action}`);
          assert.equal(result.status, 409);
          assert.ok(result.message.includes(action) && result.message.includes(status));
        }
      }
      checked += 1;
    }
  }
  assert.equal(checked, 81);
});

test('only refusals that a later event can lift are retryable', () => {
  const retryable = new Set<string>();
  for (const status of paymentStatuses) {
    for (const action of paymentActions) {
      const result = transition(status, action);
      if (!result.ok && result.retryable) retryable.add(result.code);
    }
  }
  assert.deepEqual([...retryable].sort(), ['payment_pending', 'payment_requires_action']);
});

test('final statuses are those no action can leave', () => {
  const final = paymentStatuses.filter(isFinalStatus);
  assert.deepEqual(final, ['REFUNDED', 'VOIDED', 'FAILED', 'EXPIRED']);
});

test('checkCapture allows up to the authorized amount and releases the rest', () => {
  assert.deepEqual(checkCapture({ authorized: 1000n, captureAmount: 600n }), {
    ok: true,
    captured: 600n,
    released: 400n,
  });
  assert.deepEqual(checkCapture({ authorized: 1000n, captureAmount: 1000n }), {
    ok: true,
    captured: 1000n,
    released: 0n,
  });
  const over = checkCapture({ authorized: 1000n, captureAmount: 1001n });
  assert.equal(over.ok, false);
  if (!over.ok) {
    assert.equal(over.code, 'capture_exceeds_authorized');
    assert.equal(over.status, 422);
    assert.equal(over.retryable, false);
  }
});

test('checkCapture treats non-positive amounts as programmer errors', () => {
  assert.throws(() => checkCapture({ authorized: 1000n, captureAmount: 0n }), assert.AssertionError);
  assert.throws(() => checkCapture({ authorized: 0n, captureAmount: 1n }), assert.AssertionError);
});

test('checkRefund tells partial from full refunds and refuses over-refunds', () => {
  assert.deepEqual(checkRefund({ captured: 600n, refundedSoFar: 0n, refundAmount: 200n }), {
    ok: true,
    action: 'refund_partial',
    next: 'PARTIALLY_REFUNDED',
    refundedAfter: 200n,
    refundableAfter: 400n,
  });
  assert.deepEqual(checkRefund({ captured: 600n, refundedSoFar: 400n, refundAmount: 200n }), {
    ok: true,
    action: 'refund_full',
    next: 'REFUNDED',
    refundedAfter: 600n,
    refundableAfter: 0n,
  });
  const over = checkRefund({ captured: 600n, refundedSoFar: 400n, refundAmount: 300n });
  assert.equal(over.ok, false);
  if (!over.ok) {
    assert.equal(over.code, 'refund_exceeds_captured');
    assert.equal(over.status, 409);
    assert.match(over.message, /only 200/);
  }
  assert.throws(
    () => checkRefund({ captured: 600n, refundedSoFar: 700n, refundAmount: 1n }),
    assert.AssertionError,
  );
  assert.throws(
    () => checkRefund({ captured: 600n, refundedSoFar: 0n, refundAmount: -1n }),
    assert.AssertionError,
  );
});

test('statusAfterRefund is REFUNDED only when everything captured was refunded', () => {
  assert.equal(statusAfterRefund({ captured: 600n, refundedAfter: 599n }), 'PARTIALLY_REFUNDED');
  assert.equal(statusAfterRefund({ captured: 600n, refundedAfter: 600n }), 'REFUNDED');
  assert.throws(() => statusAfterRefund({ captured: 600n, refundedAfter: 601n }), assert.AssertionError);
});

test('planCapture checks the status before the amount', () => {
  const voided = planCapture({ status: 'VOIDED', authorized: 1000n, captureAmount: 5000n });
  assert.ok(!voided.ok && voided.code === 'payment_voided');
  const over = planCapture({ status: 'AUTHORIZED', authorized: 1000n, captureAmount: 5000n });
  assert.ok(!over.ok && over.code === 'capture_exceeds_authorized');
  assert.deepEqual(planCapture({ status: 'AUTHORIZED', authorized: 1000n, captureAmount: 600n }), {
    ok: true,
    next: 'CAPTURED',
    ledgerEffect: 'capture',
    captured: 600n,
    released: 400n,
  });
});

test('planRefund checks the status before the amount and picks partial or full', () => {
  const authorized = planRefund({
    status: 'AUTHORIZED',
    captured: 0n,
    refundedSoFar: 0n,
    refundAmount: 100n,
  });
  assert.ok(!authorized.ok && authorized.code === 'payment_not_captured');
  const refunded = planRefund({
    status: 'REFUNDED',
    captured: 600n,
    refundedSoFar: 600n,
    refundAmount: 100n,
  });
  assert.ok(!refunded.ok && refunded.code === 'payment_fully_refunded');
  const over = planRefund({ status: 'CAPTURED', captured: 600n, refundedSoFar: 0n, refundAmount: 601n });
  assert.ok(!over.ok && over.code === 'refund_exceeds_captured');
  const partial = planRefund({ status: 'CAPTURED', captured: 600n, refundedSoFar: 0n, refundAmount: 200n });
  assert.ok(partial.ok && partial.next === 'PARTIALLY_REFUNDED' && partial.ledgerEffect === 'refund');
  const full = planRefund({
    status: 'PARTIALLY_REFUNDED',
    captured: 600n,
    refundedSoFar: 200n,
    refundAmount: 400n,
  });
  assert.ok(full.ok && full.next === 'REFUNDED' && full.refundableAfter === 0n);
});

test('the Mermaid diagram is generated from every allowed transition', () => {
  const diagram = stateDiagramMermaid();
  const lines = diagram.trim().split('\n');
  assert.equal(lines[0], 'stateDiagram-v2');
  assert.ok(lines.includes('    [*] --> PENDING'));
  assert.ok(lines.includes('    PENDING --> AUTHORIZED : authorization_approved'));
  assert.ok(lines.includes('    CAPTURED --> PARTIALLY_REFUNDED : refund_partial'));
  assert.ok(lines.includes('    AUTHORIZED --> VOIDED : void'));
  assert.ok(lines.includes('    EXPIRED --> [*]'));
  let allowedPairs = 0;
  for (const status of paymentStatuses) {
    for (const action of paymentActions satisfies readonly PaymentAction[]) {
      const result = transition(status, action);
      if (!result.ok) continue;
      allowedPairs += 1;
      const edge = lines.find((line) => line.startsWith(`    ${status} --> ${result.next} : `));
      assert.ok(edge?.split(' : ')[1]?.split(', ').includes(action), `${status} ${action} missing`);
    }
  }
  assert.equal(allowedPairs, 16);
  const finals: PaymentStatus[] = paymentStatuses.filter(isFinalStatus);
  assert.equal(lines.filter((line) => line.endsWith('--> [*]')).length, finals.length);
});
