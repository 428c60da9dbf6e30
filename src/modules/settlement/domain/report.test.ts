import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHeader, parseMajorUnits, parseReportRow, requiredColumns, ReportError } from './report.ts';

const row = (fields: Record<string, string>) => ({
  'Psp Reference': 'PSP1',
  'Merchant Reference': 'pay_1.capture',
  Type: 'Settled',
  'Gross Currency': 'USD',
  'Gross Debit (GC)': '',
  'Gross Credit (GC)': '10.00',
  'Batch Number': '20000',
  ...fields,
});

test('a Settled row: the payment id and the gross credit in minor units', () => {
  assert.deepEqual(parseReportRow(row({}), 2), {
    line: 2,
    type: 'Settled',
    merchantReference: 'pay_1.capture',
    operationId: 'pay_1',
    pspReference: 'PSP1',
    currency: 'USD',
    gross: 1000n,
    acquirerCost: undefined,
    batchNumber: '20000',
  });
  const refund = parseReportRow(
    row({ Type: 'Refunded', 'Merchant Reference': 'ref_9.refund', 'Gross Debit (GC)': '3.00' }),
    3,
  );
  assert.equal(refund.operationId, 'ref_9');
  assert.equal(refund.gross, 300n);
});

test("a Settled row's net credit gives what the acquirer kept; a net above the gross is malformed", () => {
  const netted = { 'Net Currency': 'USD', 'Net Credit (NC)': '9.85' };
  assert.equal(parseReportRow(row(netted), 2).acquirerCost, 15n);
  assert.equal(parseReportRow(row({ ...netted, 'Net Currency': 'EUR' }), 2).acquirerCost, undefined);
  assert.throws(
    () => parseReportRow(row({ ...netted, 'Net Credit (NC)': '10.01' }), 4),
    /line 4: "Net Credit \(NC\)" is above/,
  );
});

test('amounts need exactly the currency exponent; anything else names the line and column', () => {
  assert.equal(parseMajorUnits('1000', 'JPY', 1, 'x'), 1000n);
  assert.equal(parseMajorUnits('1.234', 'BHD', 1, 'x'), 1234n);
  for (const [text, currency] of [
    ['10.0', 'USD'],
    ['10', 'USD'],
    ['1e3', 'USD'],
    ['-1.00', 'USD'],
    ['10.00', 'JPY'],
    [' 1.00', 'USD'],
  ] as const)
    assert.throws(
      () => parseMajorUnits(text, currency, 7, 'Gross Credit (GC)'),
      /^ReportError: line 7: "Gross Credit \(GC\)"/,
    );
  assert.throws(() => parseReportRow(row({ 'Gross Credit (GC)': '12,50' }), 4), /line 4/);
});

test('unknown types, currencies and batch numbers are malformed rows with their line', () => {
  assert.throws(() => parseReportRow(row({ Type: 'Bonus' }), 5), /line 5: unknown Type "Bonus"/);
  assert.throws(() => parseReportRow(row({ 'Gross Currency': 'XXX' }), 6), /line 6: unknown currency/);
  assert.throws(() => parseReportRow(row({ 'Batch Number': 'abc' }), 8), /line 8/);
  assert.throws(() => parseReportRow(row({ 'Merchant Reference': '' }), 9), /line 9/);
  assert.ok(new ReportError(3, 'x') instanceof Error);
});

test('the header must carry every required column', () => {
  checkHeader([...requiredColumns, 'Extra']);
  assert.throws(
    () => checkHeader(requiredColumns.filter((column) => column !== 'Type')),
    /line 1: the header lacks "Type"/,
  );
});
