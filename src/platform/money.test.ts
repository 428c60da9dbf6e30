import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  amountMaxMinor,
  amountToJson,
  totalJsonPattern,
  totalToJson,
  currencyCodes,
  currencyExponent,
  currencyExponents,
  formatMajor,
  isCurrencyCode,
  parseAmount,
  parseCurrency,
} from './money.ts';

test('the currency table holds the required codes with their ISO 4217 exponents', () => {
  const twoDigits =
    'USD EUR GBP CHF CAD AUD NZD SEK NOK DKK PLN CZK HUF RON BGN TRY ILS ZAR BRL MXN ARS COP PEN INR IDR MYR PHP SGD HKD CNY TWD THB AED SAR QAR EGP NGN KES';
  const zeroDigits = 'JPY KRW VND CLP ISK UGX XAF XOF';
  const threeDigits = 'BHD IQD JOD KWD LYD OMR TND';
  const expected = new Map<string, number>();
  for (const code of twoDigits.split(' ')) expected.set(code, 2);
  for (const code of zeroDigits.split(' ')) expected.set(code, 0);
  for (const code of threeDigits.split(' ')) expected.set(code, 3);
  for (const [code, exponent] of expected) {
    assert.ok(isCurrencyCode(code), code);
    assert.equal(currencyExponent(code), exponent, code);
  }
  assert.equal(currencyCodes.length, Object.keys(currencyExponents).length);
  for (const code of currencyCodes) assert.match(code, /^[A-Z]{3}$/);
});

test('parseAmount accepts positive safe integers up to the maximum', () => {
  assert.deepEqual(parseAmount(1), { ok: true, amount: 1n });
  assert.deepEqual(parseAmount(1000), { ok: true, amount: 1000n });
  assert.deepEqual(parseAmount(Number(amountMaxMinor)), { ok: true, amount: amountMaxMinor });
});

test('parseAmount refuses everything else with invalid_amount', () => {
  const refused: unknown[] = [
    0,
    -0,
    -1,
    10.5,
    0.1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number(amountMaxMinor) + 1,
    Number.MAX_SAFE_INTEGER + 2,
    1e21,
    '1000',
    '',
    null,
    undefined,
    true,
    1000n,
    { amount: 1000 },
    [1000],
  ];
  for (const value of refused) {
    const result = parseAmount(value);
    assert.equal(result.ok, false, `accepted ${String(value)}`);
    if (!result.ok) {
      assert.equal(result.code, 'invalid_amount');
      assert.ok(result.message.length > 0);
    }
  }
});

test('parseAmount messages say what is wrong', () => {
  const message = (value: unknown) => {
    const result = parseAmount(value);
    assert.equal(result.ok, false);
    return result.ok ? '' : result.message;
  };
  assert.match(message('10'), /not a string/);
  assert.match(message(1.5), /fraction/);
  assert.match(message(0), /greater than zero/);
  assert.match(message(Number(amountMaxMinor) + 1), /at most 99999999999/);
  assert.match(message(Number.NaN), /finite/);
});

test('the amount bound leaves headroom below the exact range of a JSON number', () => {
  assert.equal(amountMaxMinor.toString().length, 11);
  assert.ok(amountMaxMinor * 90_000n < BigInt(Number.MAX_SAFE_INTEGER));
});

test('parseCurrency accepts uppercase codes from the table', () => {
  assert.deepEqual(parseCurrency('USD'), { ok: true, currency: 'USD' });
  assert.deepEqual(parseCurrency('JPY'), { ok: true, currency: 'JPY' });
  assert.deepEqual(parseCurrency('KWD'), { ok: true, currency: 'KWD' });
});

test('parseCurrency refuses lowercase codes and suggests the uppercase form', () => {
  const result = parseCurrency('usd');
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.code, 'invalid_currency');
    assert.match(result.message, /"USD"/);
  }
  const mixed = parseCurrency('Eur');
  assert.ok(!mixed.ok && mixed.message.includes('"EUR"'));
});

test('parseCurrency refuses unknown codes and non-strings', () => {
  for (const value of [
    'XYZ',
    'US',
    'USDD',
    '',
    ' USD',
    'xyz',
    'toString',
    '__proto__',
    840,
    null,
    undefined,
  ]) {
    const result = parseCurrency(value);
    assert.equal(result.ok, false, String(value));
    if (!result.ok) assert.equal(result.code, 'invalid_currency');
  }
  const unknown = parseCurrency('xyz');
  assert.ok(!unknown.ok && !unknown.message.includes('use'), 'no suggestion for a code not in the table');
});

test('formatMajor prints exact decimal major units', () => {
  assert.equal(formatMajor(123456n, 'USD'), '1234.56');
  assert.equal(formatMajor(5n, 'USD'), '0.05');
  assert.equal(formatMajor(0n, 'EUR'), '0.00');
  assert.equal(formatMajor(-5n, 'USD'), '-0.05');
  assert.equal(formatMajor(-123456n, 'GBP'), '-1234.56');
  assert.equal(formatMajor(1000n, 'JPY'), '1000');
  assert.equal(formatMajor(-7n, 'KRW'), '-7');
  assert.equal(formatMajor(1n, 'KWD'), '0.001');
  assert.equal(formatMajor(12345n, 'BHD'), '12.345');
  assert.equal(formatMajor(amountMaxMinor, 'USD'), '999999999.99');
  assert.equal(formatMajor(10n ** 30n + 1n, 'USD'), '10000000000000000000000000000.01');
});

test('amountToJson sends one operation’s amount as an exact number and refuses a sum', () => {
  assert.equal(amountToJson(1000n), 1000);
  assert.equal(amountToJson(-1000n), -1000);
  assert.equal(amountToJson(amountMaxMinor), 99_999_999_999);
  assert.equal(amountToJson(-amountMaxMinor), -99_999_999_999);
  // Past one operation's bound it is a sum, even while a JSON number could still hold it.
  assert.throws(() => amountToJson(amountMaxMinor + 1n), /totalToJson/);
  assert.throws(() => amountToJson(BigInt(Number.MAX_SAFE_INTEGER) + 1n), assert.AssertionError);
  assert.throws(() => amountToJson(-amountMaxMinor - 1n), assert.AssertionError);
});

test('totalToJson sends a sum as a decimal string of minor units at every size, exact past 2^53', () => {
  const pattern = new RegExp(totalJsonPattern);
  const past = 2n ** 53n + 1n; // 9007199254740993: Number() would round it to ...992
  for (const [total, text] of [
    [0n, '0'],
    [1050n, '1050'],
    [-5n, '-5'],
    [BigInt(Number.MAX_SAFE_INTEGER), '9007199254740991'],
    [past, '9007199254740993'],
    [-past, '-9007199254740993'],
    [10n ** 30n + 7n, '1000000000000000000000000000007'],
  ] as const) {
    assert.equal(totalToJson(total), text);
    assert.match(totalToJson(total), pattern);
    assert.equal(BigInt(JSON.parse(JSON.stringify({ total: totalToJson(total) })).total), total);
  }
  assert.notEqual(String(Number(past)), totalToJson(past));
  for (const wrong of ['', '-', '-0', '01', '-0.5', '1e3', ' 1', '+1', '1.0'])
    assert.doesNotMatch(wrong, pattern);
});
