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

export function settlementReportCsv(
  entries: readonly SettlementEntry[],
  options: {
    readonly date: string;
    readonly batchNumber: number;
    readonly costBps: number;
    readonly faults?: ReportFaults;
  },
): string {
  const faults = options.faults ?? {};
  const rows: string[][] = [];
  const created = (entry: SettlementEntry) =>
    new Date(entry.atMs).toISOString().replace('T', ' ').slice(0, 19);
  const row = (fields: Partial<Record<(typeof reportColumns)[number], string>>) =>
    rows.push(reportColumns.map((column) => fields[column] ?? ''));
  const totals = new Map<string, { net: bigint; costs: bigint }>();
  const add = (currency: string, net: bigint, costs: bigint) => {
    const total = totals.get(currency) ?? { net: 0n, costs: 0n };
    total.net += net;
    total.costs += costs;
    totals.set(currency, total);
  };
  const line = (entry: SettlementEntry, amount: bigint, extraCost = 0n) => {
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
      'Batch Number': String(options.batchNumber),
    };
    if (entry.kind === 'capture') {
      const cost = share(amount, options.costBps) + extraCost;
      const interchange = share(amount, Math.floor(options.costBps / 2));
      const scheme = share(amount, Math.floor(options.costBps / 5));
      row({
        ...common,
        Type: 'Settled',
        'Gross Credit (GC)': money(amount),
        'Net Credit (NC)': money(amount - cost),
        'Commission (NC)': money(0n),
        'Markup (NC)': money(cost - interchange - scheme),
        'Scheme Fees (NC)': money(scheme),
        'Interchange (NC)': money(interchange),
      });
      add(entry.currency, amount - cost, cost);
    } else {
      row({
        ...common,
        Type: 'Refunded',
        'Gross Debit (GC)': money(amount),
        'Net Debit (NC)': money(amount),
      });
      add(entry.currency, -amount, 0n);
    }
  };
  for (const entry of entries) {
    if (faults.missing?.includes(entry.reference)) continue;
    const amount = faults.amount?.includes(entry.reference) ? entry.amount + 1n : entry.amount;
    line(entry, amount, faults.cost?.includes(entry.reference) ? 1n : 0n);
    if (faults.duplicate?.includes(entry.reference)) line(entry, amount);
    if (faults.chargeback?.includes(entry.reference)) {
      row({
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
        'Batch Number': String(options.batchNumber),
      });
      add(entry.currency, -entry.amount, 0n);
    }
  }
  if (faults.unknown) {
    line(
      {
        kind: 'capture',
        reference: 'pay_never_sent_by_payflow.capture',
        pspReference: 'PSPUNKNOWN0001',
        amount: 1234n,
        currency: entries[0]?.currency ?? 'USD',
        atMs: Date.parse(`${options.date}T12:00:00Z`),
      },
      1234n,
    );
  }
  for (const [currency, total] of totals) {
    row({
      'Company Account': 'PayFlowSimulator',
      'Merchant Account': 'PayFlowMerchants',
      Type: 'MerchantPayout',
      'Net Currency': currency,
      [total.net >= 0n ? 'Net Debit (NC)' : 'Net Credit (NC)']: formatMajorUnits(
        total.net >= 0n ? total.net : -total.net,
        currency,
      ),
      'Batch Number': String(options.batchNumber),
    });
  }
  return [reportColumns.join(','), ...rows.map((fields) => fields.map(csvField).join(','))].join('\n') + '\n';
}
