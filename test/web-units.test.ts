// The web app's non-trivial pure pieces (web/src/shared), run here because the test harness skips
// directories named `web`: amounts formatted exactly for 0-, 2- and 3-decimal currencies, and the
// card helpers the checkout form uses as the payer types, and the payments table's filters (the
// form ⇄ API query translation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimalToMinor, formatAmount, minorToDecimalString } from '../web/src/shared/money.ts';
import {
  detectBrand,
  expiryInPast,
  formatCardNumber,
  luhnValid,
  parseExpiry,
} from '../web/src/shared/card.ts';
import { emptySearch, formOf, queryOf, type SearchForm } from '../web/src/dashboard/payment-search.ts';

// Intl separates some symbols with a no-break space; compare with plain spaces.
const plain = (text: string) => text.replace(/\s/g, ' ');

test('amounts: minor units to an exact decimal string, formatted in the currency', () => {
  assert.equal(minorToDecimalString(2599, 'USD'), '25.99');
  assert.equal(minorToDecimalString(5, 'USD'), '0.05');
  assert.equal(minorToDecimalString(1500, 'JPY'), '1500');
  assert.equal(minorToDecimalString(1234, 'KWD'), '1.234');
  assert.equal(minorToDecimalString(99_999_999_999, 'USD'), '999999999.99');
  assert.equal(formatAmount(2599, 'USD', 'en-US'), '$25.99');
  assert.equal(formatAmount(1500, 'JPY', 'en-US'), '¥1,500');
  assert.equal(plain(formatAmount(1234, 'KWD', 'en-US')), 'KWD 1.234');
  assert.equal(formatAmount(99_999_999_999, 'USD', 'en-US'), '$999,999,999.99');
  assert.equal(plain(formatAmount(2599, 'EUR', 'de-DE')), '25,99 €');
  // Sums arrive as decimal strings (ADR 27) and stay exact past 2^53, where a number would round.
  assert.equal(minorToDecimalString('9007299999909927', 'JPY'), '9007299999909927');
  assert.equal(minorToDecimalString('-900729999990992', 'USD'), '-9007299999909.92');
  assert.equal(formatAmount('9007299999909927', 'JPY', 'en-US'), '¥9,007,299,999,909,927');
  assert.equal(formatAmount('9007299999909927', 'USD', 'en-US'), '$90,072,999,999,099.27');
  assert.equal(formatAmount(9007299999909927n, 'USD', 'en-US'), '$90,072,999,999,099.27');
  assert.equal(formatAmount('0', 'EUR', 'en-US'), '€0.00');
});

test('amounts typed in major units become exact minor units, or nothing', () => {
  assert.equal(decimalToMinor('12.50', 'USD'), 1250);
  assert.equal(decimalToMinor('12,5', 'EUR'), 1250);
  assert.equal(decimalToMinor('12', 'USD'), 1200);
  assert.equal(decimalToMinor('0.07', 'USD'), 7);
  assert.equal(decimalToMinor('1500', 'JPY'), 1500);
  assert.equal(decimalToMinor('15.5', 'JPY'), undefined);
  assert.equal(decimalToMinor('1.234', 'KWD'), 1234);
  assert.equal(decimalToMinor('1.2345', 'KWD'), undefined);
  assert.equal(decimalToMinor('-1', 'USD'), undefined);
  assert.equal(decimalToMinor('1e3', 'USD'), undefined);
});

test('card: Luhn, brand from the prefix as typed, grouping, expiry', () => {
  assert.equal(luhnValid('4242424242424242'), true);
  assert.equal(luhnValid('4242424242424241'), false);
  assert.equal(detectBrand('4'), 'visa');
  assert.equal(detectBrand('51'), 'mastercard');
  assert.equal(detectBrand('2221'), 'mastercard');
  assert.equal(detectBrand('37'), 'amex');
  assert.equal(detectBrand('9'), 'unknown');
  assert.equal(formatCardNumber('4242424242424242'), '4242 4242 4242 4242');
  assert.equal(formatCardNumber('378282246310005'), '3782 822463 10005');
  assert.deepEqual(parseExpiry('12/34'), { month: 12, year: 2034 });
  assert.deepEqual(parseExpiry('1 / 2030'), { month: 1, year: 2030 });
  assert.equal(parseExpiry('13/30'), undefined);
  assert.equal(expiryInPast({ month: 11, year: 2026 }, new Date('2026-12-04')), true);
  assert.equal(expiryInPast({ month: 12, year: 2026 }, new Date('2026-12-04')), false);
});

test('payments filters: a form becomes the API query (amounts in minor units, local days), and back', () => {
  const form: SearchForm = {
    ...emptySearch,
    status: 'CAPTURED',
    last4: ' 4242 ',
    email: 'payer@example.com',
    currency: 'JPY',
    amountFrom: '1500',
    amountTo: '2000',
    createdFrom: '2026-06-01',
    createdTo: '2026-06-30',
  };
  const result = queryOf(form);
  assert.ok(result.ok);
  const query = new URLSearchParams(result.query);
  assert.equal(query.get('status'), 'CAPTURED');
  assert.equal(query.get('last4'), '4242');
  assert.equal(query.get('amountMin'), '1500', 'JPY has no minor digits');
  assert.equal(query.get('amountMax'), '2000');
  // The end day is included: the query's bound is the next local day's start (exclusive).
  assert.equal(query.get('createdFrom'), new Date(2026, 5, 1).toISOString());
  assert.equal(query.get('createdTo'), new Date(2026, 6, 1).toISOString());
  assert.deepEqual(formOf(result.query), { ...form, last4: '4242' });

  const usd = queryOf({ ...emptySearch, currency: 'USD', amountFrom: '12.5', amountTo: '' });
  assert.ok(usd.ok);
  assert.equal(new URLSearchParams(usd.query).get('amountMin'), '1250');
  assert.equal(formOf(usd.query).amountFrom, '12.50');
  const kwd = queryOf({ ...emptySearch, currency: 'KWD', amountFrom: '1.005' });
  assert.ok(kwd.ok);
  assert.equal(new URLSearchParams(kwd.query).get('amountMin'), '1005', 'three minor digits');
  assert.equal(queryOf(emptySearch).ok && (queryOf(emptySearch) as { query: string }).query, '');

  assert.deepEqual(queryOf({ ...emptySearch, last4: '42' }), {
    ok: false,
    problem: 'Card last 4 is four digits.',
  });
  assert.deepEqual(queryOf({ ...emptySearch, amountFrom: '10' }), {
    ok: false,
    problem: 'Pick a currency to search by amount.',
  });
  assert.deepEqual(queryOf({ ...emptySearch, currency: 'USD', amountFrom: '1.234' }), {
    ok: false,
    problem: '1.234 is not an amount in USD.',
  });
  // A hand-edited address with nonsense leaves those fields empty instead of failing.
  assert.deepEqual(formOf('amountMin=abc&createdFrom=yesterday'), emptySearch);
});
