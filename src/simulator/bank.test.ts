import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bank } from './bank.ts';

test('a payout is created once per reference, in transit, then paid once its delay passed', () => {
  let now = 1_000;
  const bank = new Bank(500, () => now);
  const first = bank.create({ reference: 'po_1', amount: 1_000n, currency: 'USD', destination: 'mer_1' });
  assert.equal(first.status, 'in_transit');
  const again = bank.create({ reference: 'po_1', amount: 5n, currency: 'EUR', destination: 'mer_2' });
  assert.equal(again.amount, 1_000n, 'a repeated create answers the first payout');
  assert.equal(bank.inquire('po_1')?.status, 'in_transit');
  now += 500;
  assert.equal(bank.inquire('po_1')?.status, 'paid');
  assert.equal(bank.inquire('po_unknown'), undefined);
});

test('an amount ending in 13 minor units fails with account_closed; others are paid', () => {
  const bank = new Bank();
  bank.create({ reference: 'a', amount: 4_213n, currency: 'USD', destination: 'm' });
  bank.create({ reference: 'b', amount: 4_214n, currency: 'USD', destination: 'm' });
  assert.deepEqual(
    [bank.inquire('a')?.status, bank.inquire('a')?.failureReason],
    ['failed', 'account_closed'],
  );
  assert.equal(bank.inquire('b')?.status, 'paid');
});
