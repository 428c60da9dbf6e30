import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { inspect } from 'node:util';

import { Secret } from './masked.ts';
import { randomValue, seededRandom } from '../../../../test/support/untrusted-values.ts';
import { isValidCryptogram, validateWallet, type WalletValidationResult } from './wallet.ts';

const now = new Date('2026-05-15T12:00:00Z');
const cryptogram = Buffer.alloc(20, 7).toString('base64');
const validInput = {
  type: 'apple_pay',
  networkToken: '4895370012003478',
  cryptogram,
  expMonth: 11,
  expYear: 2029,
};

function codeOf(result: WalletValidationResult): string {
  return result.ok ? 'ok' : `${result.code}@${result.field}`;
}

test('a valid Apple Pay or Google Pay payment is accepted with its secrets wrapped', () => {
  for (const type of ['apple_pay', 'google_pay']) {
    const result = validateWallet({ ...validInput, type }, now);
    assert.ok(result.ok);
    assert.equal(result.wallet.type, type);
    assert.equal(result.wallet.networkToken.reveal(), '4895370012003478');
    assert.equal(result.wallet.brand, 'visa');
    assert.equal(result.wallet.last4, '3478');
    assert.equal(result.wallet.cryptogram.reveal(), cryptogram);
    assert.ok(!inspect(result, { depth: 10 }).includes('4895370012003478'));
    assert.ok(!JSON.stringify(result).includes(cryptogram));
  }
  const wrapped = {
    ...validInput,
    networkToken: new Secret('4895370012003478'),
    cryptogram: new Secret(cryptogram),
  };
  assert.equal(validateWallet(wrapped, now).ok, true);
});

test('the wallet type must be apple_pay or google_pay', () => {
  for (const type of ['samsung_pay', 'APPLE_PAY', '', undefined, 1]) {
    assert.equal(codeOf(validateWallet({ ...validInput, type }, now)), 'invalid_wallet_type@type');
  }
});

test('the network token is a Luhn-valid DPAN of 13 to 19 digits', () => {
  assert.equal(validateWallet({ ...validInput, networkToken: '4222222222222' }, now).ok, true);
  assert.equal(validateWallet({ ...validInput, networkToken: '4000000000000000006' }, now).ok, true);
  const rejected = [
    '4895370012003477',
    '424242424242',
    '40000000000000000006',
    '4895 3700 1200 3478',
    '٤٨٩٥٣٧٠٠١٢٠٠٣٤٧٨',
    4895370012003478,
  ];
  for (const networkToken of rejected) {
    const result = validateWallet({ ...validInput, networkToken }, now);
    assert.equal(codeOf(result), 'invalid_network_token@networkToken', String(networkToken));
    assert.ok(!JSON.stringify(result).includes('48953700'));
  }
});

test('the cryptogram is canonical base64 of 20 to 40 bytes', () => {
  assert.equal(isValidCryptogram(randomBytes(20).toString('base64')), true);
  assert.equal(isValidCryptogram(randomBytes(32).toString('base64')), true);
  assert.equal(isValidCryptogram(randomBytes(40).toString('base64')), true);
  const rejected = [
    randomBytes(19).toString('base64'),
    randomBytes(41).toString('base64'),
    Buffer.alloc(21, 0xfb).toString('base64url'), // URL-safe alphabet
    'AAAAAAAAAAAAAAAAAAAAAAAAAAB=', // non-zero padding bits
    `${cryptogram}\n`,
    ` ${cryptogram}`,
    cryptogram.replace(/=+$/, ''),
    '',
    null,
    'A'.repeat(1_000_000),
  ];
  for (const raw of rejected) {
    assert.equal(isValidCryptogram(raw), false, String(raw).slice(0, 60));
    assert.equal(
      codeOf(validateWallet({ ...validInput, cryptogram: raw }, now)),
      'invalid_cryptogram@cryptogram',
    );
  }
});

test('wallet expiry uses the card expiry codes', () => {
  assert.equal(validateWallet({ ...validInput, expMonth: 5, expYear: 2026 }, now).ok, true);
  assert.equal(
    codeOf(validateWallet({ ...validInput, expMonth: 4, expYear: 2026 }, now)),
    'expired_card@expMonth',
  );
  assert.equal(codeOf(validateWallet({ ...validInput, expMonth: 0 }, now)), 'invalid_expiry_month@expMonth');
  assert.equal(
    codeOf(validateWallet({ ...validInput, expYear: 'soon' }, now)),
    'invalid_expiry_year@expYear',
  );
});

test('validateWallet never throws on random input', () => {
  const random = seededRandom(7);
  for (let iteration = 0; iteration < 1_000; iteration += 1) {
    const input =
      random() < 0.3
        ? randomValue(random)
        : {
            type: random() < 0.7 ? 'google_pay' : randomValue(random),
            networkToken: random() < 0.6 ? '4895370012003478' : randomValue(random),
            cryptogram: random() < 0.6 ? cryptogram : randomValue(random),
            expMonth: random() < 0.7 ? 12 : randomValue(random),
            expYear: random() < 0.7 ? 2030 : randomValue(random),
          };
    assert.doesNotThrow(() => validateWallet(input, now), `iteration ${iteration}`);
  }
});
