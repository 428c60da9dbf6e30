import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvField, csvLine } from './csv.ts';

test('fields are quoted only when they must be, quotes doubled, lines end in CRLF', () => {
  assert.equal(
    csvLine(['pay_1', 12.5, null, undefined, 'a,b', 'say "hi"', 'two\nlines']),
    'pay_1,12.5,,,"a,b","say ""hi""","two\nlines"\r\n',
  );
  assert.equal(csvField(10n), '10');
});

test('text a spreadsheet would run as a formula is defused; numbers are left alone', () => {
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField('+1'), "'+1");
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvField('-cmd'), "'-cmd");
  assert.equal(csvField('-12.50'), '-12.50');
  assert.equal(csvField(-5), '-5');
});
