import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse';
import { NotSimpleCsv, simpleCsvRecords, simpleLineCharsMax } from './simple-csv.ts';

/** What csv-parse gives with the reconciliation's options: [line, fields] a record, or its error code. */
async function csvParse(text: string): Promise<[number, string[]][] | string> {
  const records: [number, string[]][] = [];
  const parser = parse({
    bom: true,
    max_record_size: 64 * 1024,
    skip_empty_lines: true,
    on_record: (fields: string[], context: { lines: number }) => {
      records.push([context.lines, fields]);
      return fields;
    },
  });
  try {
    parser.end(Buffer.from(text, 'utf8'));
    for await (const record of parser as AsyncIterable<unknown>) void record;
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  return records;
}

/** The same input read by simple-csv.ts, in chunks of `size` bytes. */
async function simple(text: string, size: number): Promise<[number, string[]][] | 'not simple'> {
  const bytes = Buffer.from(text, 'utf8');
  async function* chunks() {
    for (let from = 0; from < bytes.length; from += size) yield bytes.subarray(from, from + size);
  }
  const records: [number, string[]][] = [];
  try {
    for await (const batch of simpleCsvRecords(chunks()))
      for (const r of batch) records.push([r.line, r.fields]);
  } catch (error) {
    if (error instanceof NotSimpleCsv) return 'not simple';
    throw error;
  }
  return records;
}

const header = 'Psp Reference,Merchant Reference,Type,Gross Currency,Gross Credit (GC),Batch Number';
const row = (index: number) => `PSP${index},pay_${index}.capture,Settled,USD,${index}.00,1`;

test('a simple report splits into the records csv-parse gives, whatever the chunking', async () => {
  const inputs = [
    `${header}\n${row(1)}\n${row(2)}\n`,
    `${header}\n${row(1)}\n\n\n${row(2)}`, // empty lines counted, no final newline
    `\n\n${header}\n${row(1)}\n`, // empty lines before the header
    `${header}\n,,,,,\n${row(1)}\n`, // empty fields
    '',
    '\n\n',
    `${header}\n${Array.from({ length: 500 }, (_, index) => row(index)).join('\n')}\n`,
  ];
  for (const text of inputs)
    for (const size of [1, 7, 64, 65_536]) {
      const expected = await csvParse(text);
      assert.deepEqual(
        await simple(text, size),
        expected,
        `${JSON.stringify(text.slice(0, 60))} in ${size}-byte chunks`,
      );
    }
  // A byte order mark is passed over when the first chunk holds it whole (a file's always does).
  const marked = `\ufeff${header}\n${row(1)}\n`;
  assert.deepEqual(await simple(marked, 64), await csvParse(marked));
  assert.equal(await simple(marked, 1), 'not simple');
});

test('anything csv-parse could split otherwise or refuse is not simple', async () => {
  const inputs = [
    `${header}\n${row(1)},extra\n`, // ragged: csv-parse refuses it
    `${header}\nPSP,"pay_1.capture",Settled,USD,1.00,1\n`, // a quote
    `${header}\r\n${row(1)}\r\n`, // carriage returns
    `${header}\nPSP,pay_é.capture,Settled,USD,1.00,1\n`, // outside ASCII
    `${header}\nPSP,pay_1.capture${'x'.repeat(simpleLineCharsMax)},Settled,USD,1.00,1\n`, // long
    `${header}\n${'x'.repeat(100 * 1024)}`, // a long line without its end
  ];
  for (const text of inputs)
    for (const size of [5, 65_536])
      assert.equal(await simple(text, size), 'not simple', JSON.stringify(text.slice(0, 80)));
});
