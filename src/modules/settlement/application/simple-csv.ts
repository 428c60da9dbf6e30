// The fast path of the report's one CSV parse (ADR 33, "The simple-report fast path"): an acquirer's
// report is ASCII, unquoted, one record a `\n`-ended line, and split on its commas it is the records
// csv-parse would give, at a tenth of its CPU. Anything else (a quote, a carriage return, a byte
// outside ASCII, a long line, a row of another width than the header) is not simple: the caller
// parses the report again from its start with csv-parse, whose rules and errors stay the only ones.
import { isAscii } from 'node:buffer';

/** The report is not simple: parse it with csv-parse instead (nothing was decided from it). */
export class NotSimpleCsv extends Error {
  constructor(readonly reason: string) {
    super(`not a simple CSV: ${reason}`);
    this.name = 'NotSimpleCsv';
  }
}

/** Longer lines are left to csv-parse (its limit, recordBytesMax, is 64 KB). */
export const simpleLineCharsMax = 16 * 1024;

export interface SimpleCsvRecord {
  readonly fields: string[];
  /** The record's line in the file (csv-parse's `info.lines`), empty lines counted. */
  readonly line: number;
}

const byteOrderMark = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The records of `input`, a batch per chunk read, as csv-parse gives them with `bom`,
 * `skip_empty_lines` and a fixed width (the first record's); throws NotSimpleCsv on any input whose
 * records csv-parse could split otherwise or refuse.
 */
export async function* simpleCsvRecords(input: AsyncIterable<Buffer>): AsyncGenerator<SimpleCsvRecord[]> {
  let rest = '';
  let line = 0;
  let width = -1;
  let start = true;
  const split = (text: string, records: SimpleCsvRecord[]) => {
    line += 1;
    if (text === '') return;
    if (text.length > simpleLineCharsMax) throw new NotSimpleCsv(`line ${line} is long`);
    const fields = text.split(',');
    if (width < 0) width = fields.length;
    else if (fields.length !== width) throw new NotSimpleCsv(`line ${line} has ${fields.length} fields`);
    records.push({ fields, line });
  };
  for await (const read of input) {
    let chunk = read;
    if (start && chunk.length > 0) {
      start = false;
      if (chunk.subarray(0, 3).equals(byteOrderMark)) chunk = chunk.subarray(3);
    }
    if (!isAscii(chunk)) throw new NotSimpleCsv('a byte outside ASCII');
    if (chunk.includes(0x22)) throw new NotSimpleCsv('a quote');
    if (chunk.includes(0x0d)) throw new NotSimpleCsv('a carriage return');
    const text = rest + chunk.toString('latin1');
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      rest = text;
      if (rest.length > simpleLineCharsMax) throw new NotSimpleCsv(`line ${line + 1} is long`);
      continue;
    }
    const records: SimpleCsvRecord[] = [];
    let from = 0;
    while (from <= end) {
      const to = text.indexOf('\n', from);
      split(text.slice(from, to), records);
      from = to + 1;
    }
    rest = text.slice(end + 1);
    if (rest.length > simpleLineCharsMax) throw new NotSimpleCsv(`line ${line + 1} is long`);
    if (records.length > 0) yield records;
  }
  const records: SimpleCsvRecord[] = [];
  if (rest !== '') split(rest, records);
  if (records.length > 0) yield records;
}
