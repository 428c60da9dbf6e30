import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createHttpClient, HttpCallError } from './client.ts';

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (request.url === '/slow') {
      setTimeout(() => response.end('late'), 500);
      return;
    }
    if (request.url === '/large') {
      response.end('x'.repeat(10_000));
      return;
    }
    if (request.url === '/half') {
      response.writeHead(200, { 'content-length': '100' });
      response.write('only part');
      setTimeout(() => response.destroy(), 20);
      return;
    }
    response.writeHead(201, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        method: request.method,
        body,
        contentLength: request.headers['content-length'] ?? null,
        remotePort: request.socket.remotePort,
      }),
    );
  });
});
let base = '';
const client = createHttpClient();

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (path: string, extra: { body?: string; timeoutMs?: number; maxAnswerBytes?: number } = {}) =>
  client.call({
    method: extra.body === undefined ? 'GET' : 'POST',
    url: `${base}${path}`,
    headers: { 'content-type': 'application/json' },
    ...(extra.body !== undefined && { body: extra.body }),
    timeoutMs: extra.timeoutMs ?? 2_000,
    maxAnswerBytes: extra.maxAnswerBytes ?? 4_096,
  });

test('a call sends its body with its length and returns status, content type and text', async () => {
  const answer = await call('/echo', { body: '{"amount":1050,"note":"é"}' });
  assert.equal(answer.status, 201);
  assert.equal(answer.contentType, 'application/json');
  const echoed = JSON.parse(answer.text) as { method: string; body: string; contentLength: string };
  assert.equal(echoed.method, 'POST');
  assert.equal(echoed.body, '{"amount":1050,"note":"é"}');
  assert.equal(echoed.contentLength, String(Buffer.byteLength('{"amount":1050,"note":"é"}')));
});

test('consecutive calls reuse one keep-alive connection', async () => {
  const first = JSON.parse((await call('/echo')).text) as { remotePort: number };
  const second = JSON.parse((await call('/echo')).text) as { remotePort: number };
  assert.equal(second.remotePort, first.remotePort);
});

test('the deadline covers the whole answer: a late answer is a timeout', async () => {
  const started = performance.now();
  await assert.rejects(call('/slow', { timeoutMs: 100 }), (error: unknown) => {
    assert.ok(error instanceof HttpCallError);
    assert.equal(error.reason, 'timeout');
    return true;
  });
  assert.ok(performance.now() - started < 400, 'it gave up at the deadline, not at the answer');
});

test('an answer above the cap fails the call without keeping it', async () => {
  await assert.rejects(call('/large', { maxAnswerBytes: 1_000 }), (error: unknown) => {
    assert.ok(error instanceof HttpCallError);
    assert.equal(error.reason, 'answer_too_large');
    return true;
  });
});

test('an answer that breaks off and a refused connection are unreachable, with no request in the message', async () => {
  await assert.rejects(call('/half'), (error: unknown) => {
    assert.ok(error instanceof HttpCallError);
    assert.equal(error.reason, 'unreachable');
    return true;
  });
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(
    client.call({
      method: 'POST',
      url: `http://127.0.0.1:${port}/v1/authorizations`,
      body: '{"card":"4242424242424242"}',
      timeoutMs: 2_000,
      maxAnswerBytes: 100,
    }),
    (error: unknown) => {
      assert.ok(error instanceof HttpCallError);
      assert.equal(error.reason, 'unreachable');
      assert.doesNotMatch(error.message, /4242/);
      return true;
    },
  );
});
