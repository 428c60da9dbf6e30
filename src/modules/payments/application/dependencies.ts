// What every payments use case receives: the database, time, ids, the ports and the settings.
import type { Clock } from '../../../platform/clock.ts';
import type { Sql } from '../../../platform/db/client.ts';
import type { Logger } from '../../../platform/log.ts';
import type {
  CardDataPort,
  EventStager,
  IdGenerator,
  LedgerPort,
  ProcessorFactory,
  RiskPort,
} from './ports.ts';

export interface PaymentsSettings {
  /** A key locked longer than this belongs to a request whose process died; it may be taken over. */
  readonly keyLockTimeoutMs: number;
  /** Delays between inquiries about an unknown outcome (Kill Bill's schedule by default). */
  readonly inquiryScheduleMs: readonly number[];
  /** How long an authorization holds funds before the expiry job voids it. */
  readonly authorizationValidityMs: number;
  /** How long finished idempotency keys are kept before the reaper deletes them. */
  readonly keyRetentionMs: number;
  /** Test-only fault: the process exits between the acquirer's answer and phase 2. */
  readonly crashAfterProcessor: boolean;
}

export interface PaymentsDependencies {
  readonly sql: Sql;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly cardData: CardDataPort;
  readonly ledger: LedgerPort;
  readonly events: EventStager;
  readonly processors: ProcessorFactory;
  /** The fraud screening before the acquirer; undefined when FRAUD_SCREENING is off. */
  readonly risk?: RiskPort | undefined;
  readonly settings: PaymentsSettings;
  readonly log: Logger;
}

/** The identity of the idempotency key a continuation works for. */
export interface KeyRef {
  readonly merchantId: string;
  readonly key: string;
  readonly resourceId: string;
  /** Janitor inquiries made so far. */
  readonly attempts: number;
}

/**
 * `request`: the first run of a request (send to the acquirer). A resumed key asks the acquirer by
 * reference first and re-sends only if it recorded nothing: `retry` when a client request resumes it
 * (a retry of the same key, or a capture/void resolving a PENDING payment), `janitor` when the janitor
 * or completer does. Only `janitor` runs count against the inquiry schedule: on an unknown outcome a
 * `retry` just unlocks the key and leaves its attempts and next inquiry time alone. `operator`: an
 * operator resolves a key whose schedule ran out (ADR 34): it only asks, never re-sends; an acquirer
 * with no record under the reference is a decline `acquirer_no_record`, an unknown outcome unlocks.
 */
export type ContinuationMode = 'request' | 'retry' | 'janitor' | 'operator';

/** What one send of an operation owed to the acquirer came to: the row is closed (`done`), or it is sent again later (`retry`). */
export type OwedSendResult = { readonly type: 'done' } | { readonly type: 'retry'; readonly reason: string };

/** The test-only crash between the acquirer's answer and phase 2 (PAYFLOW_FAULT_CRASH_AFTER_PROCESSOR). */
export function crashIfFaultInjected(dependencies: PaymentsDependencies): void {
  if (!dependencies.settings.crashAfterProcessor) return;
  dependencies.log.fatal('fault injection: exiting between the acquirer answer and phase 2');
  process.kill(process.pid, 'SIGKILL');
}
