import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attemptKey,
  isRedirectUrl,
  payRefusal,
  statusAt,
  successRedirect,
  type CheckoutSession,
} from './session.ts';

const now = new Date('2026-12-04T10:00:00Z');
const session: CheckoutSession = {
  id: 'cs_01jd3m5x8k2v7q9w4e6r1t0y3u',
  merchantId: 'mer_01jd3m5x8k2v7q9w4e6r1t0y3u',
  amount: 2599n,
  currency: 'USD',
  description: 'Coffee',
  successUrl: 'https://shop.example/thanks?order=1',
  cancelUrl: 'https://shop.example/cart',
  capture: true,
  status: 'open',
  createdAt: new Date('2026-12-04T09:00:00Z'),
  expiresAt: new Date('2026-12-04T11:00:00Z'),
  attempt: undefined,
  attempts: 0,
  paymentId: undefined,
  completedAt: undefined,
};

test('an open session past its expiry reads as expired; a completed one stays completed', () => {
  assert.equal(statusAt(session, now), 'open');
  assert.equal(statusAt(session, session.expiresAt), 'expired');
  assert.equal(statusAt({ ...session, status: 'completed' }, new Date('2027-01-01')), 'completed');
});

test('refusals: paid (except to the paying card), expired (except the attempt already sent), too many tries', () => {
  const key = attemptKey(session.id, 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa');
  const other = attemptKey(session.id, 'tok_bbbbbbbbbbbbbbbbbbbbbbbbbb');
  const attempt = { key, token: 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa', startedAt: now, payerIp: undefined };
  const paid = { ...session, status: 'completed' as const, attempt, paymentId: 'pay_x', completedAt: now };
  assert.equal(payRefusal(paid, now, key), undefined);
  assert.equal(payRefusal(paid, now, other), 'checkout_session_completed');
  const late = new Date('2026-12-04T12:00:00Z');
  assert.equal(payRefusal(session, late, key), 'checkout_session_expired');
  assert.equal(payRefusal({ ...session, attempt }, late, key), undefined);
  assert.equal(payRefusal({ ...session, attempts: 20 }, now, key), 'checkout_attempts_exhausted');
  assert.equal(payRefusal({ ...session, attempts: 20, attempt }, now, key), undefined);
  assert.equal(payRefusal(session, now, key), undefined);
});

test('redirect URLs: http(s) without credentials; success carries the session id', () => {
  assert.equal(isRedirectUrl('https://shop.example/x'), true);
  assert.equal(isRedirectUrl('javascript:alert(1)'), false);
  assert.equal(isRedirectUrl('https://user:pw@shop.example/'), false);
  assert.equal(isRedirectUrl('not a url'), false);
  assert.equal(successRedirect(session), `https://shop.example/thanks?order=1&session_id=${session.id}`);
});
