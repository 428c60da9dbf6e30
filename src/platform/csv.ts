// CSV lines (RFC 4180) for exports: fields with a comma, quote or line break are quoted, and text that
// a spreadsheet would run as a formula (=, +, @, a tab, or - not starting a number) gets a leading
// apostrophe (OWASP's CSV injection advice).
export type CsvValue = string | number | bigint | boolean | null | undefined;

const formulaStart = /^(?:[=+@\t\r]|-(?![0-9.]))/;
const needsQuotes = /[",\r\n]/;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && formulaStart.test(text)) text = `'${text}`;
  return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One line, ending in CRLF as RFC 4180 says. */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
