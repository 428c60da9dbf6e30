import { test } from 'node:test';
import assert from 'node:assert/strict';
import { merchantScopes, resolveScopes, scopesByRole } from './scopes.ts';

test('no requested scope grants every scope of the client', () => {
  assert.deepEqual(resolveScopes(merchantScopes, undefined), { ok: true, scopes: [...merchantScopes] });
  assert.deepEqual(resolveScopes(merchantScopes, '  '), { ok: true, scopes: [...merchantScopes] });
});

test('requested scopes narrow the grant, duplicates collapse', () => {
  assert.deepEqual(resolveScopes(merchantScopes, 'payments:read  payments:read refunds:write'), {
    ok: true,
    scopes: ['payments:read', 'refunds:write'],
  });
});

test('a scope outside the grant, or with forbidden characters, is refused', () => {
  assert.equal(resolveScopes(merchantScopes, 'payments:read admin:read').ok, false);
  assert.equal(resolveScopes(merchantScopes, 'payments:read"').ok, false);
  assert.equal(resolveScopes(merchantScopes, 'a\\b').ok, false);
  assert.equal(
    resolveScopes(merchantScopes, Array.from({ length: 51 }, (_, index) => `s${index}`).join(' ')).ok,
    false,
  );
});

test('publishable keys hold only tokens:create; no merchant scope is an admin scope', () => {
  assert.deepEqual(scopesByRole.publishable, ['tokens:create']);
  for (const scope of scopesByRole.merchant) assert.ok(!scopesByRole.admin.includes(scope), scope);
});
