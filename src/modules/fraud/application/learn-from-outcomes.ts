// The `fraud` consumer group (the spec's event consumer): what only outcomes reveal. An acquirer's
// decline counts against the card (`card_declines_*`, the card-testing signal), and so does a refund
// (`card_refunds_*`); a burst of failures
// on one merchant (acquirer declines, or payments the screening blocked) raises `fraud.alert.v1`
// once per minute window, which webhooks deliver. Redelivery changes nothing: the decline is counted
// per payment, the failure row and the alert are keyed. When a merchant erases a payer's data, the
// payer's email and IP leave the payment's screening record. A chargeback the merchant bore puts the
// card on the merchant's @chargebacked_cards list (`builtin_chargebacked_card` reviews it).
import type { TransactionSql } from '../../../platform/db/client.ts';
import type { EventEnvelope, EventToStage } from '../../events/index.ts';
import { addListItems, bumpRuleset, findAssessment, raiseAlertOnce } from '../infra/fraud-repository.ts';
import { invalidateRuleset } from './screen-payment.ts';
import type { VelocityStore } from '../infra/velocity-store.ts';

export const fraudConsumedEventTypes = [
  'payment.failed.v1',
  'payment.refunded.v1',
  'payment.payer_data_erased.v1',
  'settlement.adjusted.v1',
] as const;
/** The list a chargeback puts its card on; `builtin_chargebacked_card` reviews what it holds. */
export const chargebackedCardsList = 'chargebacked_cards';
export const fraudAlertEventType = 'fraud.alert.v1';

export interface LearningDependencies {
  readonly velocity: VelocityStore;
  readonly stage: (transaction: TransactionSql, event: EventToStage) => Promise<unknown>;
  /** Failures of one kind in one minute that raise an alert (FRAUD_ALERT_FAILURES_PER_MINUTE). */
  readonly alertThreshold: number;
}

export async function learnFromOutcome(
  dependencies: LearningDependencies,
  transaction: TransactionSql,
  event: EventEnvelope,
  merchantId: string,
): Promise<void> {
  const paymentId = event.payload['paymentId'];
  if (event.type === 'settlement.adjusted.v1') {
    // A chargeback the merchant bore (resolved from the acquirer's report): its card goes on the
    // merchant's @chargebacked_cards list, weeks after the payment, where no velocity window
    // reaches. Other adjustments (PayFlow's cost differences) say nothing about a card.
    if (event.payload['adjustment'] !== 'merchant_chargeback' || typeof paymentId !== 'string') return;
    const fingerprint = (await findAssessment(transaction, paymentId))?.signals['card_fingerprint'];
    if (typeof fingerprint !== 'string') return;
    const at = new Date(event.occurredAt);
    await bumpRuleset(transaction, merchantId, at);
    await addListItems(transaction, merchantId, chargebackedCardsList, [fingerprint.toLowerCase()], at);
    invalidateRuleset(merchantId);
    return;
  }
  if (typeof paymentId !== 'string') throw new Error(`event ${event.eventId} has no paymentId`);
  if (event.type === 'payment.payer_data_erased.v1') {
    // The payer's email and IP leave the decision's record (the velocity counters hold only hashes).
    await transaction`update fraud.assessments
      set signals = signals - array['email', 'email_domain', 'ip_address']::text[]
      where payment_id = ${paymentId} and merchant_id = ${merchantId}`;
    return;
  }
  const blocked = event.payload['declineCode'] === 'fraud_blocked';
  const at = new Date(event.occurredAt);
  const assessment = await findAssessment(transaction, paymentId);
  const fingerprint = assessment?.signals['card_fingerprint'];
  if (event.type === 'payment.refunded.v1') {
    // A refund counts against the card once per refund (`card_refunds_*`): refund abuse, friendly fraud.
    const refundId = event.payload['refundId'];
    if (typeof fingerprint === 'string')
      await dependencies.velocity.recordOutcome(
        'refunds',
        merchantId,
        fingerprint,
        typeof refundId === 'string' ? refundId : event.eventId,
        at,
      );
    return;
  }
  if (!blocked && typeof fingerprint === 'string')
    await dependencies.velocity.recordOutcome('declines', merchantId, fingerprint, paymentId, at);
  const kind = blocked ? 'card_testing' : 'decline_spike';
  const counter = `f:${merchantId}:${kind}`;
  await transaction`insert into fraud.velocity (counter, member, amount, at)
    values (${counter}, ${paymentId}, 0, ${at}) on conflict (counter, member) do nothing`;
  const windowStart = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
  const [row] = await transaction<{ failures: number }[]>`
    with trimmed as (delete from fraud.velocity where counter = ${counter} and at < ${new Date(at.getTime() - 86_400_000)})
    select count(*)::int as failures from fraud.velocity
    where counter = ${counter} and at >= ${windowStart} and at < ${new Date(windowStart.getTime() + 60_000)}`;
  const failures = row?.failures ?? 0;
  if (failures < dependencies.alertThreshold) return;
  if (!(await raiseAlertOnce(transaction, merchantId, kind, windowStart, at))) return;
  await dependencies.stage(transaction, {
    type: fraudAlertEventType,
    aggregateId: merchantId,
    merchantId,
    payload: {
      kind,
      window: '1m',
      windowStart: windowStart.toISOString(),
      failures,
      threshold: dependencies.alertThreshold,
      lastPaymentId: paymentId,
    },
    occurredAt: at,
  });
}
