// Email and SMS end to end: a real PayFlow with the acquirer simulator, a real SMTP server
// (smtp-server, with a login) and a Twilio-style SMS API started here with node:http, both on
// 127.0.0.1. Receipts of captured payments, the endpoint-disabled email, retries and failures, and
// what happens with neither SMTP_URL nor SMS_PROVIDER_URL set (a separate `payflow start` process).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createMerchantWith } from '../src/modules/identity/index.ts';
import { systemClock } from '../src/platform/clock.ts';
import type { RunningSimulator } from '../src/simulator/index.ts';
import { createTestDatabase } from './support/database.ts';
import { fetchToken, merchantSession, type MerchantSession } from './support/identity.ts';
import { authorizeBody, call, paymentsEnv, startTestAcquirer, tokenize } from './support/payments.ts';
import { spawnServer, startTestServer, type TestServer } from './support/server.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { eventually } from './support/eventually.ts';

interface SmsRequest {
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly form: URLSearchParams;
  readonly answeredWith: number;
}

interface SmsProvider {
  readonly url: string;
  readonly requests: SmsRequest[];
  close(): Promise<void>;
}

/** A Twilio-style Messages endpoint; `answer` picks the status for each request by recipient and count. */
async function startSmsProvider(
  answer: (to: string, previousRequestsTo: number) => number,
): Promise<SmsProvider> {
  const requests: SmsRequest[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const to = form.get('To') ?? '';
      const status = answer(to, requests.filter((earlier) => earlier.form.get('To') === to).length);
      requests.push({
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        form,
        answeredWith: status,
      });
      response
        .writeHead(status, { 'content-type': 'application/json' })
        .end(
          JSON.stringify(status < 300 ? { sid: 'SM1', status: 'queued' } : { code: status, message: 'no' }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://AC123:sms-token%2F1@127.0.0.1:${port}/2010-04-01/Accounts/AC123/Messages.json`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface MessageRow {
  id: string;
  channel: string;
  kind: string;
  source_id: string;
  recipient: string;
  subject: string | null;
  body: string;
  status: string;
  attempt_count: number;
  last_error: string | null;
}

function messagesOf(server: { database: { sql: TestServer['database']['sql'] } }, sourceId: string) {
  return server.database.sql<MessageRow[]>`
    select id, channel, kind, source_id, recipient, subject, body, status, attempt_count, last_error
    from notifications.messages where source_id = ${sourceId} order by channel`;
}

const smsUnreachable = '+15550000500';
const smsRefused = '+15550000400';
const bouncing = 'bounce@example.com';

let acquirer: RunningSimulator;
let smtp: TestSmtpServer;
let sms: SmsProvider;
let server: TestServer;
let merchant: MerchantSession;
let url: string;

before(async () => {
  acquirer = await startTestAcquirer();
  smtp = await startSmtpServer({ refuseRecipient: (address) => address === bouncing });
  sms = await startSmsProvider((to, previous) => {
    if (to === smsRefused) return 400;
    if (to === smsUnreachable && previous === 0) return 500;
    return 201;
  });
  server = await startTestServer({
    env: paymentsEnv(acquirer.url, {
      SMTP_URL: smtp.url,
      EMAIL_FROM: 'Acme Payments <receipts@payflow.test>',
      SMS_PROVIDER_URL: sms.url,
      SMS_FROM: '+15550001111',
      EVENTS_POLL_INTERVAL_MS: '50',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      WEBHOOK_RETRY_SCHEDULE: '10ms,10ms',
    }),
  });
  merchant = await merchantSession(server, 'Acme Books');
  url = server.baseUrl;
});
after(async () => {
  await server.close();
  await sms.close();
  await smtp.close();
  await acquirer.close();
});

async function sale(amount: number, extra: Record<string, unknown>, session = merchant): Promise<string> {
  const token = await tokenize(url, session);
  const answer = await call(
    url,
    session,
    'POST',
    '/payments/authorize',
    authorizeBody(token, amount, { capture: true, ...extra }),
  );
  assert.equal(answer.status, 201, answer.text);
  assert.equal(answer.body.status, 'CAPTURED');
  return answer.body.paymentId as string;
}

function mailsTo(address: string) {
  return smtp.received.filter((mail) => mail.envelopeTo.includes(address));
}

/** Waits until the `receipts` group has read the whole log (its effects commit with its offset). */
async function receiptsCaughtUp(): Promise<void> {
  await eventually('the receipts group to catch up', async () => {
    const [row] = await server.database.sql<{ behind: boolean }[]>`
      select coalesce((select position from events.consumer_offsets where consumer_group = 'receipts'), 0)
             < (select last_position from events.relay_state) as behind`;
    return row?.behind === false ? true : undefined;
  });
}

test('a captured payment with receiptEmail and receiptPhone: one receipt email over SMTP, one SMS, even when the event is redelivered', async () => {
  const email = 'payer@example.com';
  const phone = '+447700900123';
  const paymentId = await sale(1250, { receiptEmail: email, receiptPhone: phone });

  const [mail] = await eventually('the receipt email', () =>
    mailsTo(email).length > 0 ? mailsTo(email) : undefined,
  );
  assert.ok(mail);
  assert.equal(mail.envelopeFrom, 'receipts@payflow.test');
  assert.equal(mail.headers.get('to'), email);
  assert.equal(mail.headers.get('from'), 'Acme Payments <receipts@payflow.test>');
  assert.equal(mail.headers.get('subject'), 'Your receipt from Acme Books: 12.50 USD');
  assert.match(mail.text, /Thank you for your payment to Acme Books\./);
  assert.match(mail.text, /Amount paid: 12\.50 USD/);
  assert.ok(mail.text.includes(`Payment: ${paymentId}`), mail.text);
  assert.doesNotMatch(mail.raw, /4242/, 'no card number, not even its last digits');
  assert.deepEqual(smtp.refusedLogins, [], 'PayFlow logged in with the credentials of SMTP_URL');

  const request = await eventually('the receipt SMS', () =>
    sms.requests.find((item) => item.form.get('To') === phone),
  );
  assert.equal(request.contentType, 'application/x-www-form-urlencoded');
  assert.equal(request.authorization, `Basic ${Buffer.from('AC123:sms-token/1').toString('base64')}`);
  assert.equal(request.form.get('From'), '+15550001111');
  assert.equal(request.form.get('Body'), `Acme Books: payment of 12.50 USD received. Ref ${paymentId}`);

  const sent = await eventually('both messages sent', async () => {
    const rows = await messagesOf(server, paymentId);
    return rows.length === 2 && rows.every((row) => row.status === 'sent') ? rows : undefined;
  });
  assert.deepEqual(
    sent.map((row) => [row.channel, row.kind, row.recipient, row.attempt_count]),
    [
      ['email', 'payment_receipt', email, 1],
      ['sms', 'payment_receipt', phone, 1],
    ],
  );

  // Redelivery: the group reads the whole log again. The inbox says the event was handled...
  await server.database
    .sql`update events.consumer_offsets set position = 0 where consumer_group = 'receipts'`;
  await receiptsCaughtUp();
  // ...and with the inbox forgotten, the handler runs again, but (kind, channel, payment) is unique.
  await server.database.sql`delete from events.inbox where consumer_group = 'receipts'`;
  await server.database
    .sql`update events.consumer_offsets set position = 0 where consumer_group = 'receipts'`;
  await receiptsCaughtUp();
  const [queued] = await server.database.sql<{ n: number }[]>`
    select count(*)::int as n from notifications.messages where status = 'queued'`;
  assert.equal(queued!.n, 0, 'nothing waits to be sent');
  assert.equal((await messagesOf(server, paymentId)).length, 2);
  assert.equal(mailsTo(email).length, 1, 'exactly one receipt email');
  assert.equal(sms.requests.filter((item) => item.form.get('To') === phone).length, 1, 'exactly one SMS');
});

test('a captured payment without receipt addresses sends nothing', async () => {
  const paymentId = await sale(700, {});
  await receiptsCaughtUp();
  assert.equal((await messagesOf(server, paymentId)).length, 0);
});

test('SMS: a 500 from the provider is retried and then sent; a 400 fails the message for good', async () => {
  const retried = await sale(300, { receiptPhone: smsUnreachable });
  const refused = await sale(400, { receiptPhone: smsRefused });
  const [sent] = await eventually('the retried SMS to be sent', async () => {
    const rows = await messagesOf(server, retried);
    return rows[0]?.status === 'sent' ? rows : undefined;
  });
  assert.equal(sent!.attempt_count, 2);
  assert.deepEqual(
    sms.requests.filter((item) => item.form.get('To') === smsUnreachable).map((item) => item.answeredWith),
    [500, 201],
  );
  const [failed] = await eventually('the refused SMS to fail', async () => {
    const rows = await messagesOf(server, refused);
    return rows[0]?.status === 'failed' ? rows : undefined;
  });
  assert.equal(failed!.attempt_count, 1);
  assert.match(failed!.last_error ?? '', /answered 400/);
  assert.equal(
    sms.requests.filter((item) => item.form.get('To') === smsRefused).length,
    1,
    'no retry after a 400',
  );
  const [next] = await server.database.sql<{ next_attempt_at: Date | null }[]>`
    select next_attempt_at from notifications.messages where id = ${failed!.id}`;
  assert.equal(next!.next_attempt_at, null);
});

test('email: a 5xx SMTP reply to the recipient fails the message for good, without a retry', async () => {
  const paymentId = await sale(500, { receiptEmail: bouncing });
  const [failed] = await eventually('the bounced email to fail', async () => {
    const rows = await messagesOf(server, paymentId);
    return rows[0]?.status === 'failed' ? rows : undefined;
  });
  assert.equal(failed!.attempt_count, 1);
  assert.match(failed!.last_error ?? '', /550/);
  assert.equal(mailsTo(bouncing).length, 0);
});

async function sessionWithEmail(name: string, email: string | undefined): Promise<MerchantSession> {
  const credentials = await createMerchantWith({ sql: server.database.sql, clock: systemClock }, name, {
    email,
  });
  const token = await fetchToken(url, credentials.clientId, credentials.clientSecret);
  return {
    ...credentials,
    token,
    publishableToken: await fetchToken(url, credentials.publishableKey, undefined),
    headers: (extra = {}) => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...extra,
    }),
  };
}

async function receiverAnswering500(): Promise<{ url: string; close(): Promise<void> }> {
  const receiver = http.createServer((_request, response) => response.writeHead(500).end('down'));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    close: () =>
      new Promise<void>((resolve) => {
        receiver.closeAllConnections();
        receiver.close(() => resolve());
      }),
  };
}

async function disableEndpointOf(session: MerchantSession, target: string): Promise<string> {
  const created = await call(url, session, 'POST', '/webhooks/endpoints', {
    url: target,
    eventTypes: ['payment.captured.v1'],
  });
  assert.equal(created.status, 201, created.text);
  const endpointId = created.body.id as string;
  await sale(999, {}, session);
  await eventually('the endpoint to be disabled', async () => {
    const answer = await call(url, session, 'GET', `/webhooks/endpoints/${endpointId}`);
    return answer.body.enabled === false ? true : undefined;
  });
  return endpointId;
}

test('an endpoint disabled after its last retry: the merchant is emailed at its contact address', async () => {
  const receiver = await receiverAnswering500();
  try {
    const owner = await sessionWithEmail('Hooked Shop', 'ops@hooked.example');
    const endpointId = await disableEndpointOf(owner, receiver.url);
    const [mail] = await eventually('the endpoint-disabled email', () => {
      const found = mailsTo('ops@hooked.example');
      return found.length > 0 ? found : undefined;
    });
    assert.equal(mail!.headers.get('subject'), 'Your PayFlow webhook endpoint was disabled');
    assert.match(mail!.text, /^Hello Hooked Shop,$/m);
    assert.ok(mail!.text.includes(endpointId), mail!.text);
    assert.ok(mail!.text.includes(receiver.url), mail!.text);
    assert.match(mail!.text, /After 3 attempts/);
    const [notice] = await server.database.sql<{ id: string }[]>`
      select id from notifications.notices where merchant_id = ${owner.merchantId}`;
    const [message] = await messagesOf(server, notice!.id);
    assert.equal(message!.kind, 'endpoint_disabled');
    assert.equal(message!.recipient, 'ops@hooked.example');
    await eventually('the message to be marked sent', async () =>
      (await messagesOf(server, notice!.id))[0]?.status === 'sent' ? true : undefined,
    );
    assert.equal(mailsTo('ops@hooked.example').length, 1);

    const silent = await sessionWithEmail('Silent Shop', undefined);
    await disableEndpointOf(silent, receiver.url);
    const notices = await server.database.sql<{ id: string }[]>`
      select id from notifications.notices where merchant_id = ${silent.merchantId}`;
    assert.equal(notices.length, 1, 'without a merchant email the notice is stored, as before');
    assert.equal((await messagesOf(server, notices[0]!.id)).length, 0);
  } finally {
    await receiver.close();
  }
});

test('without SMTP_URL and SMS_PROVIDER_URL: messages are stored, logged with the address masked, never sent', async () => {
  const database = await createTestDatabase();
  const running = await spawnServer({
    ...paymentsEnv(acquirer.url, { EVENTS_POLL_INTERVAL_MS: '50' }),
    DATABASE_URL: database.url,
    VAULT_MASTER_KEY: randomBytes(32).toString('hex'),
    SMTP_URL: '',
    SMS_PROVIDER_URL: '',
  });
  try {
    const local = { baseUrl: running.baseUrl, database } as unknown as TestServer;
    const session = await merchantSession(local, 'Offline Shop');
    const token = await tokenize(running.baseUrl, session);
    const email = 'stored.payer@example.com';
    const phone = '+447700900999';
    const answer = await call(
      running.baseUrl,
      session,
      'POST',
      '/payments/authorize',
      authorizeBody(token, 2000, { capture: true, receiptEmail: email, receiptPhone: phone }),
    );
    assert.equal(answer.status, 201, answer.text);
    const paymentId = answer.body.paymentId as string;
    const rows = await eventually('both messages stored', async () => {
      const found = await messagesOf({ database }, paymentId);
      return found.length === 2 && found.every((row) => row.status === 'stored') ? found : undefined;
    });
    assert.deepEqual(
      rows.map((row) => [row.channel, row.recipient, row.attempt_count]),
      [
        ['email', email, 0],
        ['sms', phone, 0],
      ],
    );
    const emailLine = await eventually('the stored email log line', () =>
      running.output.find((line) => line.includes('email not sent (SMTP_URL is unset)')),
    );
    assert.ok(emailLine.includes('"recipient":"s***@example.com"'), emailLine);
    assert.ok(emailLine.includes('20.00 USD'), 'the log shows the message itself');
    const smsLine = await eventually('the stored SMS log line', () =>
      running.output.find((line) => line.includes('sms not sent (SMS_PROVIDER_URL is unset)')),
    );
    assert.ok(smsLine.includes('"recipient":"+44***99"'), smsLine);
    const leaking = running.output.filter((line) => line.includes(email) || line.includes(phone));
    assert.deepEqual(leaking, [], 'no log line carries a whole address');
  } finally {
    await running.stop();
    await database.drop();
  }
});
