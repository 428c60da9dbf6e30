import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';

import {
  bankIdentificationNumber,
  detectBrand,
  luhnValid,
  normalizeCardNumber,
  validateCard,
  type CardBrand,
  type CardValidationResult,
} from './card.ts';
import { Secret } from './masked.ts';
import {
  pick,
  randomString,
  randomValue,
  seededRandom,
  validCardNumbers,
} from '../../../../test/support/untrusted-values.ts';

const now = new Date('2026-05-15T12:00:00Z');

/** Appends the Luhn check digit, so length tests do not depend on hand-computed numbers. */
function withCheckDigit(body: string): string {
  const checkDigit = [...'0123456789'].find((digit) => luhnValid(body + digit));
  assert.ok(checkDigit !== undefined);
  return body + checkDigit;
}

function cardOfLength(prefix: string, length: number): string {
  return withCheckDigit(prefix.padEnd(length - 1, '0'));
}

const validInput = {
  number: '4242424242424242',
  expMonth: 12,
  expYear: 2030,
  cvc: '123',
  holderName: 'Ada Lovelace',
};

function expectFailure(result: CardValidationResult, code: string, field: string): void {
  assert.equal(result.ok, false, `expected ${code}`);
  if (result.ok) return;
  assert.equal(result.code, code);
  assert.equal(result.field, field);
}

test('every test card Stripe publishes (docs.stripe.com/testing) has the expected brand and Luhn result', () => {
  const referenceCards: readonly [string, CardBrand, boolean][] = [
    ['4242424242424242', 'visa', true],
    ['5555555555554444', 'mastercard', true],
    ['4000000000000002', 'visa', true],
    ['4000000000009995', 'visa', true],
    ['4000000000009987', 'visa', true],
    ['4000000000009979', 'visa', true],
    ['4000000000000069', 'visa', true],
    ['4000000000000127', 'visa', true],
    ['4000000000000119', 'visa', true],
    ['4242424242424241', 'visa', false],
    ['4000000000000259', 'visa', true],
    ['4000000000005126', 'visa', true],
  ];
  for (const [number, brand, luhn] of referenceCards) {
    assert.equal(detectBrand(number), brand, number);
    assert.equal(luhnValid(number), luhn, number);
    assert.equal(validateCard({ ...validInput, number }, now).ok, luhn, number);
  }
});

test('one sample per brand is detected and validates', () => {
  const samples: readonly [string, CardBrand][] = [
    ['4222222222222', 'visa'],
    ['4000000000000000006', 'visa'],
    ['5105105105105100', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['378282246310005', 'amex'],
    ['371449635398431', 'amex'],
    ['6011111111111117', 'discover'],
    ['6445644564456445', 'discover'],
    ['6500000000000002', 'discover'],
    ['3566002020360505', 'jcb'],
    ['6200000000000005', 'unionpay'],
    ['36227206271667', 'diners'],
    ['3056930009020004', 'diners'],
  ];
  for (const [number, brand] of samples) {
    assert.equal(luhnValid(number), true, number);
    assert.equal(detectBrand(number), brand, number);
    const cvc = brand === 'amex' ? '1234' : '123';
    const result = validateCard({ ...validInput, number, cvc }, now);
    assert.ok(result.ok, number);
    assert.equal(result.card.brand, brand);
  }
});

test('brands require their IIN range and one of their lengths', () => {
  const cases: readonly [string, number, CardBrand][] = [
    ['4', 13, 'visa'],
    ['4', 14, 'unknown'],
    ['4', 15, 'unknown'],
    ['4', 16, 'visa'],
    ['4', 17, 'unknown'],
    ['4', 19, 'visa'],
    ['51', 16, 'mastercard'],
    ['55', 16, 'mastercard'],
    ['56', 16, 'unknown'],
    ['50', 16, 'unknown'],
    ['2221', 16, 'mastercard'],
    ['2720', 16, 'mastercard'],
    ['2220', 16, 'unknown'],
    ['2721', 16, 'unknown'],
    ['51', 15, 'unknown'],
    ['34', 15, 'amex'],
    ['37', 15, 'amex'],
    ['37', 16, 'unknown'],
    ['35', 15, 'unknown'],
    ['6011', 16, 'discover'],
    ['6011', 19, 'discover'],
    ['6011', 15, 'unknown'],
    ['644', 16, 'discover'],
    ['649', 17, 'discover'],
    ['643', 16, 'unknown'],
    ['65', 18, 'discover'],
    ['3528', 16, 'jcb'],
    ['3589', 19, 'jcb'],
    ['3527', 16, 'unknown'],
    ['3590', 16, 'unknown'],
    ['62', 16, 'unionpay'],
    ['62', 19, 'unionpay'],
    ['62', 15, 'unknown'],
    ['36', 14, 'diners'],
    ['38', 16, 'diners'],
    ['300', 14, 'diners'],
    ['305', 19, 'diners'],
    ['306', 14, 'unknown'],
    ['36', 13, 'unknown'],
    ['1', 16, 'unknown'],
    ['9', 16, 'unknown'],
  ];
  for (const [prefix, length, brand] of cases) {
    assert.equal(detectBrand(cardOfLength(prefix, length)), brand, `${prefix}… ${length} digits`);
  }
  assert.equal(detectBrand(''), 'unknown');
  assert.equal(detectBrand('4242x42424242424'), 'unknown');
  assert.equal(detectBrand(4242424242424242 as unknown as string), 'unknown');
});

test('luhnValid accepts valid numbers and rejects one changed digit or non-digits', () => {
  assert.equal(luhnValid('4242424242424242'), true);
  assert.equal(luhnValid('4242424242424241'), false);
  assert.equal(luhnValid('79927398713'), true);
  assert.equal(luhnValid('79927398710'), false);
  assert.equal(luhnValid(''), false);
  assert.equal(luhnValid('4242 4242 4242 4242'), false);
  assert.equal(luhnValid('٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢'), false);
  assert.equal(luhnValid(null as unknown as string), false);
});

test('normalizeCardNumber accepts single spaces or dashes between groups only', () => {
  assert.equal(normalizeCardNumber('4242424242424242'), '4242424242424242');
  assert.equal(normalizeCardNumber('4242 4242 4242 4242'), '4242424242424242');
  assert.equal(normalizeCardNumber('4242-4242-4242-4242'), '4242424242424242');
  assert.equal(normalizeCardNumber('3782 822463 10005'), '378282246310005');
  assert.equal(normalizeCardNumber(new Secret('4242 4242 4242 4242')), '4242424242424242');
  const rejected: readonly unknown[] = [
    '4242  4242 4242 4242',
    '4242--4242-4242-4242',
    ' 4242424242424242',
    '4242424242424242 ',
    '-4242424242424242',
    '4242\t4242424242424242',
    '4242\u00a04242424242424242',
    '4242.4242.4242.4242',
    '٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢',
    '４２４２４２４２４２４２４２４２',
    '424242424242424x',
    '42424242424',
    '42424242424242424242',
    '',
    4242424242424242,
    null,
    undefined,
    {},
    ['4242424242424242'],
  ];
  for (const raw of rejected) assert.equal(normalizeCardNumber(raw), null, inspect(raw));
  assert.equal(normalizeCardNumber('424242424242'), '424242424242', '12 digits is the minimum');
  assert.equal(normalizeCardNumber('4'.repeat(19)), '4'.repeat(19), '19 digits is the maximum');
});

test('validateCard returns the card with BIN, last four and the secrets wrapped', () => {
  const result = validateCard(
    { ...validInput, number: '4242 4242 4242 4242', expMonth: '08', expYear: '30' },
    now,
  );
  assert.ok(result.ok);
  const { card } = result;
  assert.equal(card.digits.reveal(), '4242424242424242');
  assert.equal(card.brand, 'visa');
  assert.equal(card.bin, '42424242', '16+ digit numbers keep an 8-digit BIN');
  assert.equal(card.last4, '4242');
  assert.equal(card.expMonth, 8);
  assert.equal(card.expYear, 2030);
  assert.equal(card.cvc.reveal(), '123');
  assert.equal(card.holderName, 'Ada Lovelace');
  assert.equal(bankIdentificationNumber('378282246310005'), '378282', 'shorter numbers keep a 6-digit BIN');
});

test('a validated card prints neither its number nor its CVC', () => {
  const result = validateCard({ ...validInput, cvc: '987' }, now);
  assert.ok(result.ok);
  for (const printed of [
    JSON.stringify(result),
    inspect(result, { depth: 10, showHidden: true }),
    `${result.card.digits}`,
  ]) {
    assert.ok(!printed.includes('4242424242424242'), printed);
    assert.ok(!printed.includes('987'), printed);
  }
});

test('a number failing Luhn, with an unknown brand or a wrong length is invalid_number', () => {
  for (const number of [
    '4242424242424241',
    cardOfLength('9', 16),
    cardOfLength('4', 15),
    '4242',
    undefined,
  ]) {
    expectFailure(validateCard({ ...validInput, number }, now), 'invalid_number', 'number');
  }
  expectFailure(validateCard(null, now), 'invalid_number', 'number');
});

test('a card expiring this month is valid; one that expired last month is expired_card', () => {
  assert.equal(validateCard({ ...validInput, expMonth: 5, expYear: 2026 }, now).ok, true);
  expectFailure(validateCard({ ...validInput, expMonth: 4, expYear: 2026 }, now), 'expired_card', 'expMonth');
  expectFailure(
    validateCard({ ...validInput, expMonth: 12, expYear: 2025 }, now),
    'expired_card',
    'expMonth',
  );
});

test('expiry is the end of the expiry month in UTC', () => {
  const lastInstantOfMay = new Date('2026-05-31T23:59:59.999Z');
  const firstInstantOfJune = new Date('2026-06-01T00:00:00.000Z');
  assert.equal(validateCard({ ...validInput, expMonth: 5, expYear: 2026 }, lastInstantOfMay).ok, true);
  expectFailure(
    validateCard({ ...validInput, expMonth: 5, expYear: 2026 }, firstInstantOfJune),
    'expired_card',
    'expMonth',
  );
  // December rolls over into January of the next year.
  assert.equal(
    validateCard({ ...validInput, expMonth: 12, expYear: 2026 }, new Date('2026-12-31T23:59:59.999Z')).ok,
    true,
  );
  expectFailure(
    validateCard({ ...validInput, expMonth: 12, expYear: 2026 }, new Date('2027-01-01T00:00:00Z')),
    'expired_card',
    'expMonth',
  );
});

test('malformed expiry months and years have their own codes', () => {
  for (const expMonth of [0, 13, -1, 1.5, '1a', '001', '', null, NaN, '٥']) {
    expectFailure(validateCard({ ...validInput, expMonth }, now), 'invalid_expiry_month', 'expMonth');
  }
  for (const expYear of [1999, 2077, '203', '20300', 2030.5, null, '٢٠٣٠', Infinity]) {
    expectFailure(validateCard({ ...validInput, expYear }, now), 'invalid_expiry_year', 'expYear');
  }
  assert.equal(validateCard({ ...validInput, expYear: 2076 }, now).ok, true, 'up to 50 years ahead');
});

test('the CVC is required: 3 digits, or 4 for American Express', () => {
  assert.equal(validateCard({ ...validInput, cvc: '012' }, now).ok, true);
  assert.equal(validateCard({ ...validInput, cvc: new Secret('012') }, now).ok, true);
  assert.equal(validateCard({ ...validInput, number: '378282246310005', cvc: '1234' }, now).ok, true);
  for (const cvc of ['1234', '12', '12a', 123, undefined, '', ' 123', '١٢٣']) {
    expectFailure(validateCard({ ...validInput, cvc }, now), 'invalid_cvc', 'cvc');
  }
  expectFailure(
    validateCard({ ...validInput, number: '378282246310005', cvc: '123' }, now),
    'invalid_cvc',
    'cvc',
  );
});

test('the holder name is optional, at most 100 characters, without control characters', () => {
  for (const holderName of [undefined, null, '', '   ']) {
    const result = validateCard({ ...validInput, holderName }, now);
    assert.ok(result.ok);
    assert.equal(result.card.holderName, undefined);
  }
  const accepted = validateCard({ ...validInput, holderName: '  Zoë Ünal-Ōkubo  ' }, now);
  assert.ok(accepted.ok);
  assert.equal(accepted.card.holderName, 'Zoë Ünal-Ōkubo');
  assert.equal(validateCard({ ...validInput, holderName: 'é'.repeat(100) }, now).ok, true);
  assert.equal(
    validateCard({ ...validInput, holderName: '😀'.repeat(100) }, now).ok,
    true,
    'counted in code points',
  );
  for (const holderName of [
    'a'.repeat(101),
    'Ada\nLovelace',
    'Ada\u0000',
    'Ada\u202eecalevoL',
    '\ud800',
    42,
    {},
  ]) {
    expectFailure(validateCard({ ...validInput, holderName }, now), 'invalid_holder_name', 'holderName');
  }
});

test('failure messages never contain the card number', () => {
  const number = '4242424242424241';
  const inputs = [
    { ...validInput, number },
    { ...validInput, expMonth: 13 },
    { ...validInput, expYear: 1990 },
    { ...validInput, expYear: 2020 },
    { ...validInput, cvc: '4242424242424242' },
    { ...validInput, holderName: '4242424242424242\n' },
  ];
  for (const input of inputs) {
    const result = validateCard(input, now);
    assert.equal(result.ok, false);
    assert.ok(!JSON.stringify(result).includes('424242424242'), JSON.stringify(result));
  }
});

test('an invalid clock is a programmer error and throws', () => {
  assert.throws(() => validateCard(validInput, new Date(NaN)), TypeError);
});

const cardCodes = new Set([
  'invalid_number',
  'invalid_expiry_month',
  'invalid_expiry_year',
  'expired_card',
  'invalid_cvc',
  'invalid_holder_name',
]);
const cardFields = new Set(['number', 'expMonth', 'expYear', 'cvc', 'holderName']);

function randomCardInput(random: () => number): unknown {
  if (random() < 0.15) return randomValue(random);
  // Mostly well-formed fields, so the fuzzing reaches the later checks too.
  const field = (valid: unknown) => (random() < 0.6 ? valid : randomValue(random));
  return {
    number: random() < 0.5 ? pick(random, validCardNumbers) : randomString(random),
    expMonth: field(pick(random, [1, 5, 12, '07'])),
    expYear: field(pick(random, [2026, 2030, '31'])),
    cvc: field(pick(random, ['123', '1234'])),
    holderName: field(pick(random, [undefined, 'Ada Lovelace'])),
  };
}

test('validateCard never throws on 2,000 random inputs and never echoes the number', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20_260_515);
  const random = seededRandom(seed);
  const outcomes = new Map<string, number>();
  for (let iteration = 0; iteration < 2_000; iteration += 1) {
    const input = randomCardInput(random);
    let result: CardValidationResult | undefined;
    assert.doesNotThrow(() => {
      result = validateCard(input, now);
    }, `seed ${seed}, iteration ${iteration}`);
    assert.ok(result !== undefined);
    const outcome = result.ok ? 'ok' : result.code;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (result.ok) {
      const digits = result.card.digits.reveal();
      assert.ok(luhnValid(digits) && result.card.brand === detectBrand(digits));
      assert.ok(digits.startsWith(result.card.bin) && digits.endsWith(result.card.last4));
    } else {
      assert.ok(
        cardCodes.has(result.code) && cardFields.has(result.field),
        `seed ${seed}, iteration ${iteration}`,
      );
      assert.ok(!/[0-9]{6}/.test(result.message), 'messages carry no digit runs');
    }
  }
  // The generator must reach every stage, or the fuzzing proves less than it claims.
  for (const outcome of ['ok', ...cardCodes])
    assert.ok((outcomes.get(outcome) ?? 0) > 0, `never produced ${outcome}`);
});
