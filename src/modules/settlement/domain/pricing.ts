// Merchant pricing and the settlement arithmetic (ADR 19). Pure: no I/O, no clock.
// A capture costs the merchant `percentBps` of its amount (rounded half up to the minor unit) plus a
// fixed amount in its currency; a refund costs nothing and returns no fee. The acquirer keeps
// `acquirerCostBps` of each capture (what PayFlow expects; the acquirer's report may differ).
import { isCurrencyCode, type CurrencyCode } from '../../../platform/money.ts';

export interface Pricing {
  readonly percentBps: number;
  /** Fixed fee per capture, in minor units of the currency; absent: none. */
  readonly fixedFees: Readonly<Partial<Record<CurrencyCode, bigint>>>;
}

/** `amount × bps / 10 000`, rounded half up (amounts and bps are non-negative). */
export function basisPoints(amount: bigint, bps: number): bigint {
  return (amount * BigInt(bps) * 2n + 10_000n) / 20_000n;
}

export function captureFee(pricing: Pricing, currency: CurrencyCode, amount: bigint): bigint {
  return basisPoints(amount, pricing.percentBps) + (pricing.fixedFees[currency] ?? 0n);
}

/** Parses `USD:30,EUR:25` (minor units per currency); throws with the offending part. */
export function parseFixedFees(text: string): Partial<Record<CurrencyCode, bigint>> {
  const fees: Partial<Record<CurrencyCode, bigint>> = {};
  for (const part of text.split(',').map((item) => item.trim())) {
    if (part === '') continue;
    const match = /^([A-Z]{3}):(\d{1,12})$/.exec(part);
    if (!match || !isCurrencyCode(match[1]!))
      throw new Error(`"${part}" is not CURRENCY:MINOR_UNITS with a known currency (e.g. USD:30)`);
    fees[match[1]] = BigInt(match[2]!);
  }
  return fees;
}

export function formatFixedFees(fees: Pricing['fixedFees']): string {
  return Object.entries(fees)
    .map(([currency, amount]) => `${currency}:${String(amount)}`)
    .join(',');
}

export interface SettlementItem {
  readonly id: string;
  readonly kind: 'capture' | 'refund';
  readonly amount: bigint;
}

export interface BatchTotals {
  readonly gross: bigint;
  readonly refunds: bigint;
  readonly fees: bigint;
  readonly acquirerCosts: bigint;
  /** Per item: its fee and the acquirer's cost (0 for refunds). */
  readonly perItem: ReadonlyMap<string, { fee: bigint; acquirerCost: bigint }>;
}

export function batchTotals(
  items: readonly SettlementItem[],
  currency: CurrencyCode,
  pricing: Pricing,
  acquirerCostBps: number,
): BatchTotals {
  let gross = 0n;
  let refunds = 0n;
  let fees = 0n;
  let acquirerCosts = 0n;
  const perItem = new Map<string, { fee: bigint; acquirerCost: bigint }>();
  for (const item of items) {
    if (item.kind === 'capture') {
      const fee = captureFee(pricing, currency, item.amount);
      const acquirerCost = basisPoints(item.amount, acquirerCostBps);
      gross += item.amount;
      fees += fee;
      acquirerCosts += acquirerCost;
      perItem.set(item.id, { fee, acquirerCost });
    } else {
      refunds += item.amount;
      perItem.set(item.id, { fee: 0n, acquirerCost: 0n });
    }
  }
  return { gross, refunds, fees, acquirerCosts, perItem };
}

/** `YYYY-MM-DD` → the end of that UTC day (the cutoff: items before it settle on that date). */
export function cutoffOf(date: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`"${date}" is not a date (YYYY-MM-DD)`);
  const start = new Date(`${date}T00:00:00.000Z`);
  if (Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== date)
    throw new Error(`"${date}" is not a date (YYYY-MM-DD)`);
  return new Date(start.getTime() + 86_400_000);
}
