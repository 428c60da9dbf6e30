import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basisPoints, batchTotals, captureFee, cutoffOf, parseFixedFees } from './pricing.ts';

test('basis points round half up to the minor unit', () => {
  assert.equal(basisPoints(10_000n, 290), 290n);
  assert.equal(basisPoints(1_250n, 290), 36n); // 36.25
  assert.equal(basisPoints(50n, 290), 1n); // 1.45
  assert.equal(basisPoints(1n, 5_000), 1n); // 0.5 rounds up
  assert.equal(basisPoints(1n, 4_999), 0n);
  assert.equal(basisPoints(0n, 290), 0n);
});

test('a capture fee is the percentage plus the fixed fee of its currency', () => {
  const pricing = { percentBps: 290, fixedFees: { USD: 30n } };
  assert.equal(captureFee(pricing, 'USD', 1_000n), 59n);
  assert.equal(captureFee(pricing, 'EUR', 1_000n), 29n);
});

test('batch totals: captures carry fees and acquirer costs, refunds none', () => {
  const totals = batchTotals(
    [
      { id: 'a', kind: 'capture', amount: 10_000n },
      { id: 'b', kind: 'capture', amount: 1_250n },
      { id: 'c', kind: 'refund', amount: 500n },
    ],
    'USD',
    { percentBps: 290, fixedFees: { USD: 30n } },
    150,
  );
  assert.equal(totals.gross, 11_250n);
  assert.equal(totals.refunds, 500n);
  assert.equal(totals.fees, 290n + 30n + 36n + 30n);
  assert.equal(totals.acquirerCosts, 150n + 19n); // 18.75 rounds to 19
  assert.deepEqual(totals.perItem.get('c'), { fee: 0n, acquirerCost: 0n });
});

test('fixed fees parse from USD:30,EUR:25 and refuse anything else with the part', () => {
  assert.deepEqual(parseFixedFees('USD:30, EUR:25'), { USD: 30n, EUR: 25n });
  assert.deepEqual(parseFixedFees(''), {});
  assert.throws(() => parseFixedFees('USD:30,XXX:1'), /"XXX:1"/);
  assert.throws(() => parseFixedFees('USD:-1'), /"USD:-1"/);
  assert.throws(() => parseFixedFees('usd:1'), /"usd:1"/);
});

test('the cutoff of a date is the end of that UTC day; nonsense dates are refused', () => {
  assert.equal(cutoffOf('2026-12-03').toISOString(), '2026-12-04T00:00:00.000Z');
  assert.throws(() => cutoffOf('2026-02-30'), /not a date/);
  assert.throws(() => cutoffOf('03/12/2026'), /not a date/);
});
