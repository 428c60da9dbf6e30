// Steps every continuation shares: store the final answer, or keep the key for the janitor when the
// acquirer's answer is unknown (never FAILED on a timeout, never re-sent under a new reference).
import type { Queryable, TransactionSql } from '../../../platform/db/client.ts';
import type { ApiAnswer } from '../domain/payment.ts';
import { nextAttemptAt } from '../domain/retry-schedule.ts';
import { finishKey, scheduleKey, setKeyLock } from '../infra/idempotency-repository.ts';
import type { ContinuationMode, KeyRef, PaymentsDependencies } from './dependencies.ts';
import type { InquiryOutcome, OperationOutcome } from './ports.ts';

export async function finish(
  transaction: TransactionSql,
  key: KeyRef,
  answer: ApiAnswer,
): Promise<ApiAnswer> {
  await finishKey(transaction, key.merchantId, key.key, answer);
  return answer;
}

/**
 * Unlocks the key and schedules the next inquiry; a janitor run counts as one attempt. A client retry
 * only unlocks it: retries during an acquirer outage must not use up the janitor's schedule.
 */
export async function keepForJanitor(
  dependencies: PaymentsDependencies,
  sql: Queryable,
  key: KeyRef,
  mode: ContinuationMode,
  reason: string,
): Promise<void> {
  if (mode === 'retry' || mode === 'operator') {
    await setKeyLock(sql, key.merchantId, key.key, null);
    dependencies.log.warn(
      { resourceId: key.resourceId, attempts: key.attempts, reason, mode },
      'acquirer outcome still unknown on a client retry or an operator resolution; the schedule is left alone',
    );
    return;
  }
  const attempts = mode === 'janitor' ? key.attempts + 1 : key.attempts;
  const next = nextAttemptAt(dependencies.settings.inquiryScheduleMs, attempts, dependencies.clock.now());
  await scheduleKey(sql, key.merchantId, key.key, attempts, next);
  const details = { resourceId: key.resourceId, attempts, nextAttemptAt: next, reason };
  if (next === null)
    dependencies.log.error(details, 'unknown outcome after the whole schedule: manual review');
  else dependencies.log.warn(details, 'acquirer outcome unknown; the janitor will ask again');
}

/** Keeps the key for the janitor when a capture, refund or void got no final answer from the acquirer. */
export async function keepUnresolvedOperation(
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
  outcome: Extract<OperationOutcome, { readonly type: 'unknown' | 'pending' }>,
  pendingReason: string,
): Promise<void> {
  const reason = outcome.type === 'unknown' ? outcome.reason : pendingReason;
  await keepForJanitor(dependencies, dependencies.sql, key, mode, reason);
}

/** What an operator's resolution makes of an acquirer that recorded nothing under the reference (ADR 34). */
export const noRecordDecline = { type: 'declined', declineCode: 'acquirer_no_record' } as const;

/**
 * The janitor asks the acquirer by reference first; if the acquirer recorded nothing, it sends the
 * original request again under the same reference (safe: the acquirer deduplicates on it). An
 * operator's resolution never sends: nothing recorded is a decline (`acquirer_no_record`).
 */
export async function inquireThenSend<T extends { readonly type: string }>(
  mode: ContinuationMode,
  inquire: () => Promise<InquiryOutcome<T>>,
  send: () => Promise<T>,
): Promise<T | typeof noRecordDecline | { readonly type: 'unknown'; readonly reason: string }> {
  if (mode === 'request') return send();
  const inquiry = await inquire();
  if (inquiry.type === 'found') return inquiry.outcome;
  if (inquiry.type === 'unknown') return inquiry;
  if (mode === 'operator') return noRecordDecline;
  return send();
}
