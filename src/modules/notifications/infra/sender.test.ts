// The delivery-time SSRF guard and the attempt limits, against a real receiver on 127.0.0.1.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook } from './sender.ts';

let requests = 0;
let port = 0;
const server = http.createServer((request, response) => {
  requests += 1;
  if (request.url === '/redirect') response.writeHead(302, { location: '/elsewhere' }).end();
  else if (request.url === '/slow') setTimeout(() => response.writeHead(200).end('late'), 2_000);
  else response.writeHead(200).end('é'.repeat(2000));
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const base = { headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs: 5_000 };

test('without allowPrivate, loopback by address or by name is refused before connecting', async () => {
  const before = requests;
  for (const url of [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`]) {
    const result = await sendWebhook({ ...base, url, allowPrivate: false });
    assert.equal(result.statusCode, undefined, url);
    assert.match(result.error ?? '', /forbidden address/, url);
  }
  assert.equal(requests, before, 'no request reached the receiver');
});

test('with allowPrivate the answer is kept to 1 KiB (whole characters); redirects are not followed', async () => {
  const answered = await sendWebhook({ ...base, url: `http://localhost:${port}/`, allowPrivate: true });
  assert.equal(answered.statusCode, 200);
  assert.ok(Buffer.byteLength(answered.responseBody ?? '') <= 1024);
  assert.equal(answered.responseBody, 'é'.repeat(512));
  const before = requests;
  const redirected = await sendWebhook({
    ...base,
    url: `http://127.0.0.1:${port}/redirect`,
    allowPrivate: true,
  });
  assert.equal(redirected.statusCode, 302);
  assert.equal(requests, before + 1, 'the Location was not followed');
});

test('an attempt past its deadline ends with an error and no status', async () => {
  const result = await sendWebhook({
    ...base,
    timeoutMs: 100,
    url: `http://127.0.0.1:${port}/slow`,
    allowPrivate: true,
  });
  assert.equal(result.statusCode, undefined);
  assert.match(result.error ?? '', /no answer within 100 ms/);
});
