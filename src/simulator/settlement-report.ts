// The acquirer's settlement report, in the shape of Adyen's settlement details report: one row per
// journal line of a settlement batch (Settled for a capture, Refunded for a refund, a Fee row for
// the batch's costs, a MerchantPayout row for what the acquirer pays out), amounts in major units.
// The acquirer keeps `costBps` of each capture, split into interchange, scheme fees and markup.
// Faults for reconciliation tests, by PayFlow reference: a row left out, an amount changed, a row
// repeated, a row for a reference PayFlow never sent, a chargeback, a cost one minor unit higher.
import type { SettlementEntry } from './acquirer.ts';

export const reportColumns = [
  'Company Account',
  'Merchant Account',
  'Psp Reference',
  'Merchant Reference',
  'Payment Method',
  'Creation Date',
  'TimeZone',
  'Type',
  'Modification Reference',
  'Gross Currency',
  'Gross Debit (GC)',
  'Gross Credit (GC)',
  'Exchange Rate',
  'Net Currency',
  'Net Debit (NC)',
  'Net Credit (NC)',
  'Commission (NC)',
  'Markup (NC)',
  'Scheme Fees (NC)',
  'Interchange (NC)',
  'Batch Number',
] as const;

export interface ReportFaults {
  readonly missing?: readonly string[];
  readonly duplicate?: readonly string[];
  /** References whose amount is reported one minor unit higher. */
  readonly amount?: readonly string[];
  /** Adds a Settled row for a reference PayFlow never sent. */
  readonly unknown?: boolean;
  /** References charged back: a Chargeback row debiting the amount. */
  readonly chargeback?: readonly string[];
  /** References whose acquirer cost is reported one minor unit higher (net one lower). */
  readonly cost?: readonly string[];
}

const exponents: Record<string, number> = { JPY: 0, KRW: 0, BHD: 3, KWD: 3, JOD: 3, OMR: 3, TND: 3 };

export function formatMajorUnits(amount: bigint, currency: string): string {
  const exponent = exponents[currency] ?? 2;
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(exponent + 1, '0');
  const text = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return negative ? `-${text}` : text;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Rounded half up, like PayFlow's fees. */
function share(amount: bigint, bps: number): bigint {
  return (amount * BigInt(bps) * 2n + 10_000n) / 20_000n;
}

export interface ReportOptions {
  readonly date: string;
  readonly batchNumber: number;
  readonly costBps: number;
  readonly faults?: ReportFaults;
}

/**
 * The report written a piece at a time (the header, then each entry's rows, then the payout rows),
 * so that a report of a million rows can be streamed to a file (the settlement bench) without
 * holding it whole; `settlementReportCsv` is the same writer over a list, joined.
 */
export class SettlementReportWriter {
  private readonly faults: ReportFaults;
  private readonly totals = new Map<string, { net: bigint; costs: bigint }>();
  private firstCurrency: string | undefined;

  constructor(private readonly options: ReportOptions) {
    this.faults = options.faults ?? {};
  }

  /** The header line. */
  header(): string {
    return `${reportColumns.join(',')}\n`;
  }

  /** The lines of one capture or refund (none when a fault leaves it out). */
  entry(entry: SettlementEntry): string {
    this.firstCurrency ??= entry.currency;
    const rows: string[][] = [];
    const faults = this.faults;
    if (faults.missing?.includes(entry.reference)) return '';
    const amount = faults.amount?.includes(entry.reference) ? entry.amount + 1n : entry.amount;
    this.line(rows, entry, amount, faults.cost?.includes(entry.reference) ? 1n : 0n);
    if (faults.duplicate?.includes(entry.reference)) this.line(rows, entry, amount);
    if (faults.chargeback?.includes(entry.reference)) {
      this.row(rows, {
        'Company Account': 'PayFlowSimulator',
        'Merchant Account': 'PayFlowMerchants',
        'Psp Reference': `${entry.pspReference}-CB`,
        'Merchant Reference': entry.reference,
        'Creation Date': created(entry),
        TimeZone: 'UTC',
        Type: 'Chargeback',
        'Gross Currency': entry.currency,
        'Gross Debit (GC)': formatMajorUnits(entry.amount, entry.currency),
        'Net Currency': entry.currency,
        'Net Debit (NC)': formatMajorUnits(entry.amount, entry.currency),
        'Batch Number': String(this.options.batchNumber),
      });
      this.add(entry.currency, -entry.amount, 0n);
    }
    return lines(rows);
  }

  /** The row for an unknown reference (a fault), then one MerchantPayout row per currency. */
  end(): string {
    const rows: string[][] = [];
    if (this.faults.unknown) {
      this.line(
        rows,
        {
          kind: 'capture',
          reference: 'pay_never_sent_by_payflow.capture',
          pspReference: 'PSPUNKNOWN0001',
          amount: 1234n,
          currency: this.firstCurrency ?? 'USD',
          atMs: Date.parse(`${this.options.date}T12:00:00Z`),
        },
        1234n,
      );
    }
    for (const [currency, total] of this.totals) {
      this.row(rows, {
        'Company Account': 'PayFlowSimulator',
        'Merchant Account': 'PayFlowMerchants',
        Type: 'MerchantPayout',
        'Net Currency': currency,
        [total.net >= 0n ? 'Net Debit (NC)' : 'Net Credit (NC)']: formatMajorUnits(
          total.net >= 0n ? total.net : -total.net,
          currency,
        ),
        'Batch Number': String(this.options.batchNumber),
      });
    }
    return lines(rows);
  }

  private row(rows: string[][], fields: Partial<Record<(typeof reportColumns)[number], string>>): void {
    rows.push(reportColumns.map((column) => fields[column] ?? ''));
  }

  private add(currency: string, net: bigint, costs: bigint): void {
    const total = this.totals.get(currency) ?? { net: 0n, costs: 0n };
    total.net += net;
    total.costs += costs;
    this.totals.set(currency, total);
  }

  private line(rows: string[][], entry: SettlementEntry, amount: bigint, extraCost = 0n): void {
    const { costBps, batchNumber } = this.options;
    const money = (value: bigint) => formatMajorUnits(value, entry.currency);
    const common = {
      'Company Account': 'PayFlowSimulator',
      'Merchant Account': 'PayFlowMerchants',
      'Psp Reference': entry.pspReference,
      'Merchant Reference': entry.reference,
      'Payment Method': 'visa',
      'Creation Date': created(entry),
      TimeZone: 'UTC',
      'Gross Currency': entry.currency,
      'Exchange Rate': '1',
      'Net Currency': entry.currency,
      'Batch Number': String(batchNumber),
    };
    if (entry.kind === 'capture') {
      const cost = share(amount, costBps) + extraCost;
      const interchange = share(amount, Math.floor(costBps / 2));
      const scheme = share(amount, Math.floor(costBps / 5));
      this.row(rows, {
        ...common,
        Type: 'Settled',
        'Gross Credit (GC)': money(amount),
        'Net Credit (NC)': money(amount - cost),
        'Commission (NC)': money(0n),
        'Markup (NC)': money(cost - interchange - scheme),
        'Scheme Fees (NC)': money(scheme),
        'Interchange (NC)': money(interchange),
      });
      this.add(entry.currency, amount - cost, cost);
    } else {
      this.row(rows, {
        ...common,
        Type: 'Refunded',
        'Gross Debit (GC)': money(amount),
        'Net Debit (NC)': money(amount),
      });
      this.add(entry.currency, -amount, 0n);
    }
  }
}

function created(entry: SettlementEntry): string {
  return new Date(entry.atMs).toISOString().replace('T', ' ').slice(0, 19);
}

function lines(rows: readonly string[][]): string {
  let text = '';
  for (const fields of rows) text += `${fields.map(csvField).join(',')}\n`;
  return text;
}

export function settlementReportCsv(entries: readonly SettlementEntry[], options: ReportOptions): string {
  const writer = new SettlementReportWriter(options);
  let csv = writer.header();
  for (const entry of entries) csv += writer.entry(entry);
  return csv + writer.end();
}
