import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  capturedPaymentOf,
  renderEndpointDisabledEmail,
  renderReceiptEmail,
  renderReceiptSms,
  smsLengthMax,
} from './messages.ts';

const facts = {
  paymentId: 'pay_01jd0000000000000000000000',
  amount: 123_456n,
  currency: 'USD' as const,
  merchantName: 'Acme Books',
  capturedAt: new Date('2026-11-26T10:00:00.000Z'),
};

test('a receipt email shows the amount in major units with its currency, the merchant and the payment', () => {
  const email = renderReceiptEmail(facts);
  assert.equal(email.subject, 'Your receipt from Acme Books: 1234.56 USD');
  assert.match(email.body, /Thank you for your payment to Acme Books\./);
  assert.match(email.body, /^Amount paid: 1234\.56 USD$/m);
  assert.match(email.body, /^Payment: pay_01jd0000000000000000000000$/m);
  assert.match(email.body, /^Date: 2026-11-26T10:00:00\.000Z$/m);
});

test('amounts follow the currency exponent: JPY has none, KWD three', () => {
  assert.match(
    renderReceiptEmail({ ...facts, amount: 1500n, currency: 'JPY' }).body,
    /Amount paid: 1500 JPY/,
  );
  assert.match(renderReceiptEmail({ ...facts, amount: 5n, currency: 'KWD' }).body, /Amount paid: 0\.005 KWD/);
  assert.match(renderReceiptEmail({ ...facts, amount: 7n }).body, /Amount paid: 0\.07 USD/);
});

test('without a merchant name the receipt still reads; a name with line breaks cannot add headers', () => {
  const anonymous = renderReceiptEmail({ ...facts, merchantName: undefined });
  assert.equal(anonymous.subject, 'Your receipt from PayFlow: 1234.56 USD');
  assert.match(anonymous.body, /^Thank you for your payment\.$/m);
  const tricky = renderReceiptEmail({ ...facts, merchantName: 'Evil\r\nBcc: victim@example.com' });
  assert.doesNotMatch(tricky.subject, /[\r\n]/);
  assert.equal(tricky.subject, 'Your receipt from Evil Bcc: victim@example.com: 1234.56 USD');
});

test('a receipt SMS fits one segment and names the amount and payment', () => {
  const sms = renderReceiptSms(facts);
  assert.equal(sms, 'Acme Books: payment of 1234.56 USD received. Ref pay_01jd0000000000000000000000');
  const long = renderReceiptSms({ ...facts, merchantName: 'x'.repeat(500) });
  assert.ok(long.length <= smsLengthMax, `${long.length} characters`);
  assert.match(long, /1234\.56 USD/);
});

test('the endpoint-disabled notice names the endpoint, its URL, the delivery and the attempts', () => {
  const email = renderEndpointDisabledEmail({
    merchantName: 'Acme Books',
    endpointId: 'we_01jd0000000000000000000000',
    url: 'https://acme.example/hooks',
    deliveryId: 'msg_01jd0000000000000000000000',
    attempts: 10,
  });
  assert.equal(email.subject, 'Your PayFlow webhook endpoint was disabled');
  assert.match(email.body, /^Hello Acme Books,$/m);
  assert.match(email.body, /we_01jd0000000000000000000000 \(https:\/\/acme\.example\/hooks\)/);
  assert.match(email.body, /After 10 attempts at delivery msg_01jd0000000000000000000000/);
});

test('a captured payload is read strictly; card data is never looked at', () => {
  const read = capturedPaymentOf({
    paymentId: 'pay_1',
    capturedAmount: 1250,
    currency: 'EUR',
    receipt: { email: true, sms: false },
  });
  assert.deepEqual(read, {
    paymentId: 'pay_1',
    capturedAmount: 1250n,
    currency: 'EUR',
    receipt: { email: true, sms: false },
    legacyEmail: undefined,
    legacyPhone: undefined,
  });
  // An event staged before the addresses left the payload still reads.
  const legacy = capturedPaymentOf({
    paymentId: 'pay_2',
    capturedAmount: 1,
    currency: 'EUR',
    receiptEmail: 'payer@example.com',
  });
  assert.equal(legacy.legacyEmail, 'payer@example.com');
  assert.deepEqual(legacy.receipt, { email: false, sms: false });
  assert.throws(() => capturedPaymentOf({ capturedAmount: 1, currency: 'EUR' }), /paymentId/);
  assert.throws(
    () => capturedPaymentOf({ paymentId: 'p', capturedAmount: 1.5, currency: 'EUR' }),
    /capturedAmount/,
  );
  assert.throws(
    () => capturedPaymentOf({ paymentId: 'p', capturedAmount: 0, currency: 'EUR' }),
    /capturedAmount/,
  );
  assert.throws(() => capturedPaymentOf({ paymentId: 'p', capturedAmount: 1, currency: 'XYZ' }), /currency/);
});
