import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountCode, accountRoles, merchantAccounts, normalSide, parseAccountCode } from './accounts.ts';

test('account codes name merchant, currency and role', () => {
  assert.equal(accountCode('mer_01abc', 'USD', 'payable'), 'merchant:mer_01abc:USD:payable');
  assert.deepEqual(merchantAccounts('mer_1', 'EUR'), {
    authorization_holds: 'merchant:mer_1:EUR:authorization_holds',
    authorization_hold_contra: 'merchant:mer_1:EUR:authorization_hold_contra',
    receivable_from_acquirer: 'merchant:mer_1:EUR:receivable_from_acquirer',
    payable: 'merchant:mer_1:EUR:payable',
    refunds: 'merchant:mer_1:EUR:refunds',
    fee_revenue: 'merchant:mer_1:EUR:fee_revenue',
    bank: 'merchant:mer_1:EUR:bank',
    acquirer_costs: 'merchant:mer_1:EUR:acquirer_costs',
    merchant_available: 'merchant:mer_1:EUR:merchant_available',
    payout_in_transit: 'merchant:mer_1:EUR:payout_in_transit',
  });
});

test('a merchant id that would break the code format is a programmer error', () => {
  for (const merchantId of ['', 'a:b', 'a b', 'mer/1']) {
    assert.throws(() => accountCode(merchantId, 'USD', 'payable'), assert.AssertionError, merchantId);
  }
});

test('parseAccountCode inverts accountCode and rejects other strings', () => {
  for (const role of accountRoles) {
    assert.deepEqual(parseAccountCode(accountCode('mer_1', 'KWD', role)), {
      merchantId: 'mer_1',
      currency: 'KWD',
      role,
    });
  }
  for (const code of [
    '',
    'merchant:mer_1:USD',
    'merchant::USD:payable',
    'merchant:mer_1:usd:payable',
    'merchant:mer_1:USD:cash',
    'platform:mer_1:USD:payable',
    'merchant:mer_1:USD:payable:extra',
  ]) {
    assert.equal(parseAccountCode(code), undefined, code);
  }
});

test('asset accounts are debit-normal, liabilities, contras and revenue credit-normal', () => {
  const debitNormal = accountRoles.filter((role) => normalSide(role) === 'debit');
  assert.deepEqual(debitNormal, [
    'authorization_holds',
    'receivable_from_acquirer',
    'bank',
    'acquirer_costs',
  ]);
});
