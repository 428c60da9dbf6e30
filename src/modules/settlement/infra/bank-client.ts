// The bank PayFlow pays merchants through: the simulator's /v1/payouts (src/simulator/bank.ts) at
// the acquirer's URL, until a real bank adapter exists. A payout is created once per reference.
import { totalToJson } from '../../../platform/money.ts';
export interface BankPayoutState {
  readonly status: 'in_transit' | 'paid' | 'failed';
  readonly failureReason?: string;
}

export interface BankPort {
  createPayout(payout: {
    reference: string;
    amount: bigint;
    currency: string;
    destination: string;
  }): Promise<BankPayoutState>;
  /** The payout's state, or undefined when the bank does not know the reference. */
  inquire(reference: string): Promise<BankPayoutState | undefined>;
}

export function httpBank(baseUrl: string, timeoutMs = 5_000): BankPort {
  const base = baseUrl.replace(/\/+$/, '');
  async function answer(response: Response): Promise<BankPayoutState> {
    const body = (await response.json()) as { status?: unknown; failureReason?: unknown };
    if (body.status !== 'in_transit' && body.status !== 'paid' && body.status !== 'failed')
      throw new Error(`the bank answered an unknown payout status ${JSON.stringify(body.status)}`);
    return {
      status: body.status,
      ...(typeof body.failureReason === 'string' && { failureReason: body.failureReason }),
    };
  }
  return {
    async createPayout(payout) {
      const response = await fetch(`${base}/v1/payouts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // A payout is a sum (a merchant's available balance): a decimal string, exact at any size (ADR 27).
        body: JSON.stringify({ ...payout, amount: totalToJson(payout.amount) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status !== 201) throw new Error(`the bank refused the payout with ${response.status}`);
      return answer(response);
    },
    async inquire(reference) {
      const response = await fetch(`${base}/v1/payouts/${encodeURIComponent(reference)}`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status === 404) {
        await response.arrayBuffer();
        return undefined;
      }
      if (response.status !== 200) throw new Error(`the bank answered ${response.status}`);
      return answer(response);
    },
  };
}
