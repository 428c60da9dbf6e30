import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isForbiddenAddress } from './address-policy.ts';

test('loopback, private, link-local, CGNAT, metadata and unspecified addresses are forbidden', () => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.100.100.200',
    '0.0.0.0',
    '::1',
    '::',
    'fd00:ec2::254',
    'fe80::1',
    '::ffff:127.0.0.1',
    'not-an-address',
  ])
    assert.equal(isForbiddenAddress(address), true, address);
});

test('public addresses are allowed', () => {
  for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111'])
    assert.equal(isForbiddenAddress(address), false, address);
});
