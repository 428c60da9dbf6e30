import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountCode } from './accounts.ts';
import { LedgerAuditor, replay } from './auditor.ts';

test('the auditor accepts a capture only while the hold is open and within it', () => {
  const { auditor, verdicts } = replay([
    {
      kind: 'authorize',
      paymentId: 'p1',
      merchantId: 'm1',
      currency: 'USD',
      amount: 1000n,
      outcome: 'approved',
    },
    { kind: 'capture', paymentId: 'p1', amount: 1001n },
    { kind: 'capture', paymentId: 'p1', amount: 600n },
    { kind: 'capture', paymentId: 'p1', amount: 100n },
    { kind: 'void', paymentId: 'p1' },
  ]);
  assert.deepEqual(verdicts, [true, false, true, false, false]);
  assert.deepEqual(auditor.expectedPaymentBalance('p1'), {
    authorizedHold: 0n,
    captured: 600n,
    refunded: 0n,
    net: 600n,
  });
});

test('the auditor accepts refunds up to the captured amount', () => {
  const { auditor, verdicts } = replay([
    {
      kind: 'authorize',
      paymentId: 'p1',
      merchantId: 'm1',
      currency: 'USD',
      amount: 500n,
      outcome: 'captured',
    },
    { kind: 'refund', paymentId: 'p1', amount: 200n },
    { kind: 'refund', paymentId: 'p1', amount: 301n },
    { kind: 'refund', paymentId: 'p1', amount: 300n },
    { kind: 'refund', paymentId: 'p1', amount: 1n },
  ]);
  assert.deepEqual(verdicts, [true, true, false, true, false]);
  assert.deepEqual(auditor.expectedPaymentBalance('p1'), {
    authorizedHold: 0n,
    captured: 500n,
    refunded: 500n,
    net: 0n,
  });
});

test('a declined authorization holds nothing and accepts nothing', () => {
  const { auditor, verdicts } = replay([
    {
      kind: 'authorize',
      paymentId: 'p1',
      merchantId: 'm1',
      currency: 'EUR',
      amount: 500n,
      outcome: 'declined',
    },
    { kind: 'capture', paymentId: 'p1', amount: 500n },
    { kind: 'refund', paymentId: 'p1', amount: 1n },
    { kind: 'void', paymentId: 'p1' },
    { kind: 'expire', paymentId: 'p1' },
  ]);
  assert.deepEqual(verdicts, [true, false, false, false, false]);
  assert.equal(auditor.expectedAccountBalances().size, 0);
  assert.deepEqual(auditor.expectedMerchantBalance('m1'), []);
});

test('expected account balances follow the chart of accounts', () => {
  const { auditor } = replay([
    {
      kind: 'authorize',
      paymentId: 'p1',
      merchantId: 'm1',
      currency: 'USD',
      amount: 1000n,
      outcome: 'approved',
    },
    {
      kind: 'authorize',
      paymentId: 'p2',
      merchantId: 'm1',
      currency: 'USD',
      amount: 300n,
      outcome: 'approved',
    },
    { kind: 'capture', paymentId: 'p1', amount: 600n },
    { kind: 'refund', paymentId: 'p1', amount: 100n },
    {
      kind: 'authorize',
      paymentId: 'p3',
      merchantId: 'm1',
      currency: 'USD',
      amount: 50n,
      outcome: 'approved',
    },
    { kind: 'expire', paymentId: 'p3' },
  ]);
  const code = (role: Parameters<typeof accountCode>[2]) => accountCode('m1', 'USD', role);
  assert.deepEqual(
    auditor.expectedAccountBalances(),
    new Map([
      [code('authorization_holds'), 300n],
      [code('authorization_hold_contra'), -300n],
      [code('receivable_from_acquirer'), 600n],
      [code('refunds'), -100n],
      [code('payable'), -500n],
    ]),
  );
  assert.deepEqual(auditor.expectedMerchantBalance('m1'), [
    { currency: 'USD', pending: 500n, available: 0n, inTransit: 0n, authorized: 300n },
  ]);
  assert.deepEqual(auditor.paymentIds(), ['p1', 'p2', 'p3']);
});

test('operations on an unknown or twice-authorized payment are programmer errors', () => {
  const auditor = new LedgerAuditor();
  assert.throws(() => auditor.apply({ kind: 'void', paymentId: 'nope' }), assert.AssertionError);
  const authorize = {
    kind: 'authorize',
    paymentId: 'p1',
    merchantId: 'm1',
    currency: 'USD',
    amount: 1n,
    outcome: 'approved',
  } as const;
  auditor.apply(authorize);
  assert.throws(() => auditor.apply(authorize), assert.AssertionError);
});
