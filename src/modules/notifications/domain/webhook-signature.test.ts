import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
} from './webhook-signature.ts';

const now = new Date('2026-11-25T12:00:00Z');
const timestamp = Math.floor(now.getTime() / 1000);
const id = 'msg_test';
const body = '{"eventId":"evt_1","type":"payment.authorized.v1"}';

function headersFor(secrets: string[], at = timestamp, messageBody = body) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(at),
    'webhook-signature': signWebhook({ id, timestamp: at, body: messageBody, secrets }),
  };
}

function rejects(code: string, run: () => void) {
  assert.throws(run, (error: unknown) => error instanceof WebhookVerificationError && error.code === code);
}

test('a secret is whsec_ and base64 of 32 bytes, different each time', () => {
  const secret = generateWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
  assert.notEqual(secret, generateWebhookSecret());
});

test('matches the Standard Webhooks reference vector', () => {
  // From the standard-webhooks repository's test suite.
  const signature = signWebhook({
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  });
  assert.equal(signature, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('a valid signature verifies, over a string or a Buffer, with Headers too', () => {
  const secret = generateWebhookSecret();
  const headers = headersFor([secret]);
  verifyWebhook({ headers, rawBody: body, secret, now });
  verifyWebhook({ headers, rawBody: Buffer.from(body), secret, now });
  verifyWebhook({ headers: new Headers(headers), rawBody: body, secret, now });
  // Within the 5-minute tolerance either way.
  verifyWebhook({ headers: headersFor([secret], timestamp - 290), rawBody: body, secret, now });
  verifyWebhook({ headers: headersFor([secret], timestamp + 290), rawBody: body, secret, now });
});

test('tampered body, wrong secret, 6-minute-old and future timestamps, missing headers are refused', () => {
  const secret = generateWebhookSecret();
  const headers = headersFor([secret]);
  rejects('invalid_signature', () =>
    verifyWebhook({ headers, rawBody: body.replace('1', '2'), secret, now }),
  );
  rejects('invalid_signature', () =>
    verifyWebhook({ headers, rawBody: body, secret: generateWebhookSecret(), now }),
  );
  rejects('timestamp_too_old', () =>
    verifyWebhook({ headers: headersFor([secret], timestamp - 360), rawBody: body, secret, now }),
  );
  rejects('timestamp_in_future', () =>
    verifyWebhook({ headers: headersFor([secret], timestamp + 360), rawBody: body, secret, now }),
  );
  rejects('missing_headers', () =>
    verifyWebhook({ headers: { 'webhook-id': id }, rawBody: body, secret, now }),
  );
  rejects('invalid_signature', () =>
    verifyWebhook({
      headers: { ...headers, 'webhook-signature': 'v2,abc v1,' },
      rawBody: body,
      secret,
      now,
    }),
  );
});

test('rotation: a message signed with two secrets verifies with either', () => {
  const oldSecret = generateWebhookSecret();
  const newSecret = generateWebhookSecret();
  const headers = headersFor([newSecret, oldSecret]);
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  verifyWebhook({ headers, rawBody: body, secret: oldSecret, now });
  verifyWebhook({ headers, rawBody: body, secret: newSecret, now });
  rejects('invalid_signature', () =>
    verifyWebhook({ headers, rawBody: body, secret: generateWebhookSecret(), now }),
  );
});
