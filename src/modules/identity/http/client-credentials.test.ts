import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../../../platform/errors.ts';
import { clientCredentialsOf } from './routes.ts';

const basic = (value: string) => `Basic ${Buffer.from(value).toString('base64')}`;

test('HTTP Basic credentials are form-decoded (RFC 6749 §2.3.1)', () => {
  assert.deepEqual(clientCredentialsOf(basic('cli_a:s%3Acret+x'), {}), {
    clientId: 'cli_a',
    clientSecret: 's:cret x',
  });
  assert.deepEqual(clientCredentialsOf(basic('pk_a:'), {}), { clientId: 'pk_a', clientSecret: undefined });
});

test('body credentials are used without an Authorization header', () => {
  assert.deepEqual(clientCredentialsOf(undefined, { client_id: 'cli_b', client_secret: 'sk' }), {
    clientId: 'cli_b',
    clientSecret: 'sk',
  });
});

test('two authentication methods, a mismatched client_id or a broken header are refused', () => {
  const code = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return (error as DomainError).code;
    }
    return 'accepted';
  };
  assert.equal(
    code(() => clientCredentialsOf(basic('cli_a:s'), { client_secret: 's' })),
    'invalid_request',
  );
  assert.equal(
    code(() => clientCredentialsOf(basic('cli_a:s'), { client_id: 'cli_b' })),
    'invalid_request',
  );
  assert.equal(
    code(() => clientCredentialsOf(basic('no-colon'), {})),
    'invalid_client',
  );
  assert.equal(
    code(() => clientCredentialsOf('Bearer abc', {})),
    'invalid_client',
  );
  assert.equal(
    code(() => clientCredentialsOf(basic('cli_%zz:s'), {})),
    'invalid_client',
  );
});

test('NUL or other control characters in credentials are refused, never sent to the database', () => {
  const code = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return (error as DomainError).code;
    }
    return 'accepted';
  };
  assert.equal(
    code(() => clientCredentialsOf(undefined, { client_id: 'cli_\u0000', client_secret: 's' })),
    'invalid_request',
  );
  assert.equal(
    code(() => clientCredentialsOf(undefined, { client_id: 'cli_a', client_secret: 's\u0000' })),
    'invalid_request',
  );
  assert.equal(
    code(() => clientCredentialsOf(basic('cli_%00:s'), {})),
    'invalid_client',
  );
  assert.equal(
    code(() => clientCredentialsOf(basic('cli_a:s%00'), {})),
    'invalid_client',
  );
  assert.equal(
    code(() => clientCredentialsOf(basic('cli_a:s'), {})),
    'accepted',
  );
});
