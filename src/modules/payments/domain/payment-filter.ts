// What a payment search may ask for (GET /payments, GET /payments.csv). Every field narrows; none
// given is every payment of the merchant. Card last 4 becomes `tokens` (the vault knows the cards).
import type { CurrencyCode } from '../../../platform/money.ts';
import type { PaymentMethodType } from './payment.ts';
import type { PaymentStatus } from './payment-state.ts';

export interface PaymentFilter {
  readonly status?: PaymentStatus;
  readonly method?: PaymentMethodType;
  readonly currency?: CurrencyCode;
  /** Inclusive. */
  readonly createdFrom?: Date;
  /** Exclusive. */
  readonly createdTo?: Date;
  /** Minor units, inclusive; compared with the payment's amount. */
  readonly amountMin?: bigint;
  readonly amountMax?: bigint;
  /** The payments made with one of these tokens (the cards ending in the searched last 4). */
  readonly tokens?: readonly string[];
  /** The payer's receipt email, compared without case. */
  readonly email?: string;
  /** The payment id, or any metadata value equal to it (an order id, an invoice number). */
  readonly reference?: string;
}
