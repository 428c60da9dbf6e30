// The acquirer's settlement report (Adyen's settlement details report shape), row by row. Pure: the
// caller streams the CSV (csv-parse) and hands each record here with its line number. Amounts are
// major units with exactly the currency's exponent ("10.00" USD, "1000" JPY): anything else is a
// malformed row naming its line, never a float.
import { currencyExponent, isCurrencyCode, type CurrencyCode } from '../../../platform/money.ts';

export const requiredColumns = [
  'Psp Reference',
  'Merchant Reference',
  'Type',
  'Gross Currency',
  'Gross Debit (GC)',
  'Gross Credit (GC)',
  'Net Currency',
  'Net Debit (NC)',
  'Net Credit (NC)',
  'Batch Number',
] as const;

export type ReportRowType = 'Settled' | 'Refunded' | 'Chargeback' | 'Fee' | 'MerchantPayout';
const rowTypes = new Set<string>(['Settled', 'Refunded', 'Chargeback', 'Fee', 'MerchantPayout']);

export interface ReportRow {
  readonly line: number;
  readonly type: ReportRowType;
  /** PayFlow's reference as sent (`pay_….capture`, `ref_….refund`), empty on payout rows. */
  readonly merchantReference: string;
  /** The payment or refund id the reference names (before its first dot). */
  readonly operationId: string;
  readonly pspReference: string;
  readonly currency: CurrencyCode | undefined;
  /** Gross amount in minor units: the credit for Settled, the debit for Refunded and Chargeback. */
  readonly gross: bigint;
  /**
   * What the acquirer kept of a Settled row (gross less its net credit, minor units), when the row
   * states a net in the gross currency; undefined otherwise.
   */
  readonly acquirerCost: bigint | undefined;
  readonly batchNumber: string;
}

export class ReportError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ReportError';
  }
}

/** Checks the header row; returns nothing or throws naming the missing columns. */
export function checkHeader(columns: readonly string[]): void {
  const missing = requiredColumns.filter((column) => !columns.includes(column));
  if (missing.length > 0)
    throw new ReportError(1, `the header lacks ${missing.map((column) => `"${column}"`).join(', ')}`);
}

/** The pattern of an amount by the currency's exponent (made once: a report has a million amounts). */
const amountPatterns = new Map<number, RegExp>();

function amountPattern(exponent: number): RegExp {
  let pattern = amountPatterns.get(exponent);
  if (!pattern) {
    pattern = exponent === 0 ? /^\d{1,15}$/ : new RegExp(`^\\d{1,15}\\.\\d{${exponent}}$`);
    amountPatterns.set(exponent, pattern);
  }
  return pattern;
}

/** Parses "12.34" into minor units of `currency`; throws with what is wrong. */
export function parseMajorUnits(text: string, currency: CurrencyCode, line: number, column: string): bigint {
  const exponent = currencyExponent(currency);
  const pattern = amountPattern(exponent);
  if (!pattern.test(text))
    throw new ReportError(
      line,
      `"${column}" is "${text.slice(0, 40)}", not an amount with ${exponent} decimal(s) for ${currency}`,
    );
  return BigInt(text.replace('.', ''));
}

export function parseReportRow(record: Readonly<Record<string, string>>, line: number): ReportRow {
  const type = record['Type'] ?? '';
  if (!rowTypes.has(type)) throw new ReportError(line, `unknown Type "${type.slice(0, 40)}"`);
  const batchNumber = record['Batch Number'] ?? '';
  if (!/^\d{1,12}$/.test(batchNumber)) throw new ReportError(line, `"Batch Number" is not a number`);
  const reference = record['Merchant Reference'] ?? '';
  if (reference.length > 255)
    throw new ReportError(line, '"Merchant Reference" is longer than 255 characters');
  if (type === 'MerchantPayout' || type === 'Fee') {
    return {
      line,
      type: type as ReportRowType,
      merchantReference: reference,
      operationId: '',
      pspReference: record['Psp Reference'] ?? '',
      currency: undefined,
      gross: 0n,
      acquirerCost: undefined,
      batchNumber,
    };
  }
  const currencyText = record['Gross Currency'] ?? '';
  if (!isCurrencyCode(currencyText))
    throw new ReportError(line, `unknown currency "${currencyText.slice(0, 10)}"`);
  if (reference === '') throw new ReportError(line, '"Merchant Reference" is empty');
  const column = type === 'Settled' ? 'Gross Credit (GC)' : 'Gross Debit (GC)';
  const gross = parseMajorUnits(record[column] ?? '', currencyText, line, column);
  let acquirerCost: bigint | undefined;
  const netText = record['Net Credit (NC)'] ?? '';
  if (type === 'Settled' && netText !== '' && record['Net Currency'] === currencyText) {
    const net = parseMajorUnits(netText, currencyText, line, 'Net Credit (NC)');
    if (net > gross) throw new ReportError(line, '"Net Credit (NC)" is above "Gross Credit (GC)"');
    acquirerCost = gross - net;
  }
  return {
    line,
    type: type as ReportRowType,
    merchantReference: reference,
    operationId: reference.split('.')[0]!,
    pspReference: record['Psp Reference'] ?? '',
    currency: currencyText,
    gross,
    acquirerCost,
    batchNumber,
  };
}
