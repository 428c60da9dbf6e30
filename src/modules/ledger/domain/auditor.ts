// A model of the ledger after TigerBeetle's auditor (src/state_machine/auditor.zig): it replays the
// operations a test sent and rebuilds, with plain arithmetic and none of the journal builders, the
// balances the ledger must show. Tests compare the two, in memory now and against the database later.
import assert from 'node:assert/strict';
import type { CurrencyCode } from '../../../platform/money.ts';
import { accountCode, type AccountRole } from './accounts.ts';
import type { MerchantBalance, PaymentBalance } from './balances.ts';

export type AuditorOperation =
  | {
      readonly kind: 'authorize';
      readonly paymentId: string;
      readonly merchantId: string;
      readonly currency: CurrencyCode;
      readonly amount: bigint;
      /** `captured` is the sale path (authorize and capture at once). */
      readonly outcome: 'approved' | 'declined' | 'captured';
    }
  | { readonly kind: 'capture'; readonly paymentId: string; readonly amount: bigint }
  | { readonly kind: 'refund'; readonly paymentId: string; readonly amount: bigint }
  | { readonly kind: 'void'; readonly paymentId: string }
  | { readonly kind: 'expire'; readonly paymentId: string };

type ModelPayment = {
  readonly merchantId: string;
  readonly currency: CurrencyCode;
  readonly authorized: bigint;
  /** A declined authorization posts nothing, so its merchant and currency may show no balance. */
  readonly posted: boolean;
  holdOpen: boolean;
  captured: bigint;
  refunded: bigint;
};

export class LedgerAuditor {
  private readonly payments = new Map<string, ModelPayment>();

  /** Applies one operation and says whether the system must accept it. */
  apply(operation: AuditorOperation): { readonly accepted: boolean } {
    if (operation.kind === 'authorize') return this.authorize(operation);
    const payment = this.payments.get(operation.paymentId);
    assert.ok(payment !== undefined, `the auditor never saw payment ${operation.paymentId}`);
    switch (operation.kind) {
      case 'capture':
        if (!payment.holdOpen || operation.amount > payment.authorized) return { accepted: false };
        payment.holdOpen = false;
        payment.captured = operation.amount;
        return { accepted: true };
      case 'refund':
        if (payment.refunded + operation.amount > payment.captured) return { accepted: false };
        payment.refunded += operation.amount;
        return { accepted: true };
      case 'void':
      case 'expire':
        if (!payment.holdOpen) return { accepted: false };
        payment.holdOpen = false;
        return { accepted: true };
      default:
        return operation satisfies never;
    }
  }

  private authorize(operation: Extract<AuditorOperation, { kind: 'authorize' }>): {
    readonly accepted: boolean;
  } {
    assert.ok(!this.payments.has(operation.paymentId), `payment ${operation.paymentId} authorized twice`);
    assert.ok(operation.amount > 0n, 'authorized amounts are positive');
    this.payments.set(operation.paymentId, {
      merchantId: operation.merchantId,
      currency: operation.currency,
      authorized: operation.amount,
      posted: operation.outcome !== 'declined',
      holdOpen: operation.outcome === 'approved',
      captured: operation.outcome === 'captured' ? operation.amount : 0n,
      refunded: 0n,
    });
    return { accepted: true };
  }

  expectedPaymentBalance(paymentId: string): PaymentBalance {
    const payment = this.payments.get(paymentId);
    assert.ok(payment !== undefined, `the auditor never saw payment ${paymentId}`);
    return {
      authorizedHold: payment.holdOpen ? payment.authorized : 0n,
      captured: payment.captured,
      refunded: payment.refunded,
      net: payment.captured - payment.refunded,
    };
  }

  /** Expected balance (debits − credits) of every account whose balance is not zero. */
  expectedAccountBalances(): ReadonlyMap<string, bigint> {
    const balances = new Map<string, bigint>();
    const add = (payment: ModelPayment, role: AccountRole, amount: bigint) => {
      const code = accountCode(payment.merchantId, payment.currency, role);
      balances.set(code, (balances.get(code) ?? 0n) + amount);
    };
    for (const payment of this.payments.values()) {
      const hold = payment.holdOpen ? payment.authorized : 0n;
      add(payment, 'authorization_holds', hold);
      add(payment, 'authorization_hold_contra', -hold);
      add(payment, 'receivable_from_acquirer', payment.captured);
      add(payment, 'refunds', -payment.refunded);
      add(payment, 'payable', -(payment.captured - payment.refunded));
    }
    for (const [code, balance] of balances) if (balance === 0n) balances.delete(code);
    return balances;
  }

  /** Expected balances of one merchant per currency with any posting, sorted by currency. */
  expectedMerchantBalance(merchantId: string): readonly MerchantBalance[] {
    const byCurrency = new Map<
      CurrencyCode,
      { pending: bigint; available: bigint; inTransit: bigint; authorized: bigint }
    >();
    for (const payment of this.payments.values()) {
      if (payment.merchantId !== merchantId || !payment.posted) continue;
      const totals = byCurrency.get(payment.currency) ?? {
        pending: 0n,
        available: 0n,
        inTransit: 0n,
        authorized: 0n,
      };
      // The auditor models payments, not settlement: nothing it sees is settled or paid out.
      totals.pending += payment.captured - payment.refunded;
      totals.authorized += payment.holdOpen ? payment.authorized : 0n;
      byCurrency.set(payment.currency, totals);
    }
    return [...byCurrency.entries()]
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([currency, totals]) => ({ currency, ...totals }));
  }

  paymentIds(): readonly string[] {
    return [...this.payments.keys()];
  }
}

/** Replays a whole sequence; returns the auditor and each operation's verdict in order. */
export function replay(operations: Iterable<AuditorOperation>): {
  readonly auditor: LedgerAuditor;
  readonly verdicts: readonly boolean[];
} {
  const auditor = new LedgerAuditor();
  const verdicts: boolean[] = [];
  for (const operation of operations) verdicts.push(auditor.apply(operation).accepted);
  return { auditor, verdicts };
}
