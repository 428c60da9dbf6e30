// The bank that receives merchant payouts, simulated (a fake for what cannot exist here, ADR 19).
// A payout is created once per reference (a repeated create answers the first one), goes
// in_transit, and is paid once PayFlow asks after `settleAfterMs`; an amount whose last two digits
// are 13 fails with `account_closed` (the deterministic failure trigger, like the test cards).
export type BankPayoutStatus = 'in_transit' | 'paid' | 'failed';

export interface BankPayout {
  readonly reference: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly destination: string;
  readonly createdAtMs: number;
  status: BankPayoutStatus;
  failureReason: string | undefined;
}

export const failingPayoutSuffix = 13n;

export class Bank {
  private readonly payouts = new Map<string, BankPayout>();

  constructor(
    private readonly settleAfterMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  create(input: { reference: string; amount: bigint; currency: string; destination: string }): BankPayout {
    const existing = this.payouts.get(input.reference);
    if (existing) return existing;
    const payout: BankPayout = {
      ...input,
      createdAtMs: this.now(),
      status: 'in_transit',
      failureReason: undefined,
    };
    this.payouts.set(input.reference, payout);
    return payout;
  }

  /** The payout's state now; an in-transit payout arrives (or fails) once `settleAfterMs` passed. */
  inquire(reference: string): BankPayout | undefined {
    const payout = this.payouts.get(reference);
    if (!payout || payout.status !== 'in_transit') return payout;
    if (this.now() - payout.createdAtMs < this.settleAfterMs) return payout;
    if (payout.amount % 100n === failingPayoutSuffix) {
      payout.status = 'failed';
      payout.failureReason = 'account_closed';
    } else payout.status = 'paid';
    return payout;
  }
}
