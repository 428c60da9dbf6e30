// Chart of accounts: one set of accounts per merchant and currency, coded
// `merchant:{merchantId}:{currency}:{role}`. Keeping every account of a payment under its merchant
// lets the ledger partition by merchant without a journal ever spanning two partitions.
import assert from 'node:assert/strict';
import { isCurrencyCode, type CurrencyCode } from '../../../platform/money.ts';

/**
 * - authorization_holds: funds reserved on customers' cards by open authorizations (TigerBeetle's
 *   pending amount); debit-normal. Its balance is the merchant's pending money.
 * - authorization_hold_contra: the other side of every hold, so holds balance without touching real
 *   money; credit-normal.
 * - receivable_from_acquirer: captured money the acquirer owes PayFlow, gross; debit-normal.
 * - payable: money PayFlow owes the merchant (captures less refunds, fees, payouts); credit-normal.
 * - refunds: refunds sent back through the acquirer, which nets them against what it owes at
 *   settlement; contra to receivable_from_acquirer, credit-normal. Kept apart so the receivable
 *   stays gross and matches the acquirer's report line by line (Settled vs Refunded rows).
 * - fee_revenue: PayFlow's fees charged to the merchant; credit-normal.
 * - bank: PayFlow's settlement bank account, as far as this merchant's money is concerned;
 *   debit-normal.
 * - acquirer_costs: what the acquirer kept at settlement (interchange, scheme fees, markup); an
 *   expense, debit-normal.
 * - merchant_available: settled money owed to the merchant, not yet paid out; credit-normal.
 * - payout_in_transit: paid out towards the merchant's bank, not yet confirmed; credit-normal.
 * (ADR 19: settlement moves the merchant's net from `payable` to `merchant_available`.)
 */
export const accountRoles = [
  'authorization_holds',
  'authorization_hold_contra',
  'receivable_from_acquirer',
  'payable',
  'refunds',
  'fee_revenue',
  'bank',
  'acquirer_costs',
  'merchant_available',
  'payout_in_transit',
] as const;
export type AccountRole = (typeof accountRoles)[number];

export type NormalSide = 'debit' | 'credit';

/** The side on which an account's balance normally sits (shown positive on that side). */
export function normalSide(role: AccountRole): NormalSide {
  switch (role) {
    case 'authorization_holds':
    case 'receivable_from_acquirer':
    case 'bank':
    case 'acquirer_costs':
      return 'debit';
    case 'authorization_hold_contra':
    case 'payable':
    case 'refunds':
    case 'fee_revenue':
    case 'merchant_available':
    case 'payout_in_transit':
      return 'credit';
    default:
      return role satisfies never;
  }
}

export function accountCode(merchantId: string, currency: CurrencyCode, role: AccountRole): string {
  assert.ok(
    /^[A-Za-z0-9_-]+$/.test(merchantId),
    `merchant id "${merchantId}" cannot be part of an account code`,
  );
  return `merchant:${merchantId}:${currency}:${role}`;
}

export type MerchantAccounts = Readonly<Record<AccountRole, string>>;

/** Every account code of one merchant in one currency. */
export function merchantAccounts(merchantId: string, currency: CurrencyCode): MerchantAccounts {
  const accounts: Partial<Record<AccountRole, string>> = {};
  for (const role of accountRoles) accounts[role] = accountCode(merchantId, currency, role);
  return accounts as MerchantAccounts;
}

export type ParsedAccountCode = {
  readonly merchantId: string;
  readonly currency: CurrencyCode;
  readonly role: AccountRole;
};

function isAccountRole(value: string): value is AccountRole {
  return (accountRoles as readonly string[]).includes(value);
}

/** The parts of a merchant account code, or undefined when the code is not one. */
export function parseAccountCode(code: string): ParsedAccountCode | undefined {
  const parts = code.split(':');
  if (parts.length !== 4 || parts[0] !== 'merchant') return undefined;
  const [, merchantId, currency, role] = parts;
  if (merchantId === undefined || merchantId === '' || currency === undefined || role === undefined) {
    return undefined;
  }
  if (!isCurrencyCode(currency) || !isAccountRole(role)) return undefined;
  return { merchantId, currency, role };
}
