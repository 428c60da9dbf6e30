import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smsEndpoint } from './message-transports.ts';

test('the SMS URL credentials become HTTP Basic and leave the URL that is called', () => {
  const { endpoint, authorization } = smsEndpoint(
    'https://AC123:t%2Fok%40en@api.example.com/2010-04-01/Accounts/AC123/Messages.json',
  );
  assert.equal(endpoint, 'https://api.example.com/2010-04-01/Accounts/AC123/Messages.json');
  assert.equal(authorization, `Basic ${Buffer.from('AC123:t/ok@en').toString('base64')}`);
  assert.ok(!endpoint.includes('t%2Fok'));
  assert.deepEqual(smsEndpoint('http://127.0.0.1:9/messages'), {
    endpoint: 'http://127.0.0.1:9/messages',
    authorization: undefined,
  });
});
