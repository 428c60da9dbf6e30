// The one runner of payments operations (authorize, capture, refund, void). An operation is a value
// that supplies its steps; the runner drives it the same way for a request, a client retry of the
// same Idempotency-Key and the janitor:
//
//   validate (outside any tx; may prepare what later steps need) → phase 1 (claim the key; the
//   operation's rows; the key's recovery point: one statement where the operation can say it in one,
//   else a transaction step by step) → outside any tx: screen (authorize) and send to the acquirer (a
//   resumed key inquires by reference first) → an unknown outcome is parked for the janitor → phase 2
//   tx (the operation's apply: state, ledger journal and outbox event, and the stored answer) → answer.
//
// Imports run one way: operations import this file and the shared steps (key-steps, idempotency);
// nothing here imports an operation. The registry of operations (operations.ts) hands them to
// createPipeline, which gives the janitor and the resolving of an unfinished resource.
import assert from 'node:assert/strict';
import { createTransactionBatcher, perClient } from '../../../platform/db/batcher.ts';
import type { Queryable, Sql, TransactionSql } from '../../../platform/db/client.ts';
import { withSpan } from '../../../platform/tracing.ts';
import type { ApiAnswer, Payment, PendingOperation } from '../domain/payment.ts';
import { nextAttemptAt } from '../domain/retry-schedule.ts';
import {
  claimDueKeys,
  claimKeyOfResource,
  deleteClaimedKey,
  insertClaimedKey,
  markPhase1Committed,
  setKeyLock,
  type ClaimedKey,
  type IdempotencyKey,
  type KeyOperation,
} from '../infra/idempotency-repository.ts';
import { lockPayment } from '../infra/payment-repository.ts';
import {
  crashIfFaultInjected,
  type ContinuationMode,
  type KeyRef,
  type PaymentsDependencies,
} from './dependencies.ts';
import { claimKey } from './idempotency.ts';
import { finish, inquireThenSend, keepForJanitor, keepUnresolvedOperation } from './key-steps.ts';
import type { InquiryOutcome, OperationOutcome } from './ports.ts';

/** What a POST answers, and whether it is the stored answer of an earlier request under the key. */
export interface RequestAnswer {
  readonly answer: ApiAnswer;
  readonly replayed: boolean;
}

/** What every operation's input carries: the key's owner, the key and the request's fingerprint. */
export interface OperationRequest {
  readonly merchantId: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
}

/** What the runner lends an operation's steps. */
export interface PipelineContext {
  /** Resolves the unfinished operation on a payment or refund now, as a client retry would. */
  readonly resolve: (resourceId: string) => Promise<void>;
}

/**
 * Phase 1's result for a new key: `continue` to the acquirer for the resource, or `done` when the
 * operation finished inside phase 1 (its answer is stored in the same transaction; `afterCommit`
 * runs once it committed, e.g. sending an operation now owed to the acquirer).
 */
export type PhaseOneResult<Subject = never> =
  | {
      readonly type: 'continue';
      readonly resourceId: string;
      /** What phase 1 wrote and the continuation works on, so it need not read it back. */
      readonly subject?: Subject | undefined;
    }
  | {
      readonly type: 'done';
      readonly resourceId: string;
      readonly answer: ApiAnswer;
      readonly afterCommit?: ((dependencies: PaymentsDependencies) => Promise<void>) | undefined;
    };

/** A final answer from the acquirer (what phase 2 applies). */
export type FinalOutcome = Exclude<OperationOutcome, { readonly type: 'unknown' | 'pending' }>;

/**
 * The steps after phase 1 of an operation sent to the acquirer under one reference (capture, refund,
 * void): what it works on, the question and the request, and phase 2.
 */
export interface AcquirerSteps<Subject> {
  /** Reads what the key is about, outside any transaction. */
  load(dependencies: PaymentsDependencies, key: KeyRef): Promise<Subject>;
  /** The answer when nothing is pending any more (applied meanwhile); undefined while pending. */
  settledAnswer(subject: Subject): ApiAnswer | undefined;
  /** Asks the acquirer by reference what became of the request. */
  inquire(dependencies: PaymentsDependencies, subject: Subject): Promise<InquiryOutcome<OperationOutcome>>;
  /** Sends the request under its reference (the acquirer deduplicates on it). */
  send(dependencies: PaymentsDependencies, subject: Subject): Promise<OperationOutcome>;
  /** The answer while the outcome is unknown (the key is kept for the janitor). */
  unknownAnswer(subject: Subject): ApiAnswer;
  /** Logged as the reason when the acquirer answers `pending`. */
  readonly pendingReason: string;
  /** Phase 2, in the runner's transaction: state, ledger journal, outbox event; returns the answer. */
  apply(
    transaction: TransactionSql,
    dependencies: PaymentsDependencies,
    key: KeyRef,
    subject: Subject,
    outcome: FinalOutcome,
  ): Promise<ApiAnswer>;
}

/** How an unfinished key of an operation continues (the runner's, or the operation's own). */
export type Continuation = (
  dependencies: PaymentsDependencies,
  key: KeyRef,
  mode: ContinuationMode,
) => Promise<ApiAnswer>;

/** An operation as the registry and the janitor know it. */
export interface RegisteredOperation {
  readonly kind: KeyOperation;
  readonly continueKey: Continuation;
}

/** What the runner hands an operation's continuation for a request (not for the janitor). */
export interface RequestContext<Input, Prepared, Subject> {
  readonly input: Input;
  /** What `validate` prepared. */
  readonly prepared: Prepared;
  /** What phase 1 wrote, for a new key (undefined when a retry resumes an existing key). */
  readonly subject: Subject | undefined;
}

/**
 * An operation as the runner drives it for a request. `Prepared` is what `validate` learns for the
 * later steps (authorize: the vault's description of the card and the payer, for the screening);
 * `Subject` is what phase 1 wrote (authorize: the payment row).
 */
export interface PaymentOperation<
  Input extends OperationRequest,
  Prepared = void,
  Subject = never,
> extends RegisteredOperation {
  /** Checks before phase 1, outside any transaction (nothing stored on a refusal). */
  validate?(dependencies: PaymentsDependencies, input: Input, context: PipelineContext): Promise<Prepared>;
  /**
   * Phase 1 of a new key in one go (ADR 18): claims the key, writes the operation's rows and the
   * key's recovery point together — authorize as one statement, capture/refund/void on the payment as
   * `validate` read it (`claimOnReadPayment`). Undefined when nothing was written (the key already
   * existed; or the payment changed since it was read, or the read row would refuse the operation):
   * the runner then claims it step by step (replay, conflict, resume, reaped, the exact refusal).
   */
  claimNewKey?(
    sql: Queryable,
    dependencies: PaymentsDependencies,
    input: Input,
    prepared: Prepared,
    now: Date,
    firstAttemptAt: Date | null,
  ): Promise<PhaseOneResult<Subject> | undefined>;
  /** Phase 1 after a new key was claimed, in its transaction: the rows to insert or lock. */
  phase1(
    transaction: TransactionSql,
    dependencies: PaymentsDependencies,
    input: Input,
    now: Date,
    prepared: Prepared,
  ): Promise<PhaseOneResult<Subject>>;
  /**
   * The continuation for a request, which knows more than the janitor's (`continueKey`): the
   * request's prepared signals and phase 1's subject. Absent: `continueKey`.
   */
  continueRequest?(
    dependencies: PaymentsDependencies,
    key: KeyRef,
    mode: ContinuationMode,
    request: RequestContext<Input, Prepared, Subject>,
  ): Promise<ApiAnswer>;
}

/** Phase 2 transactions open at once per process (each holds a connection of the pool). */
export const phase2TransactionsInFlight = 4;
/** Phase 2s in one transaction at most. */
export const phase2BatchMax = 32;

/**
 * Phase 2 transactions of concurrent requests share one under load (ADR 18): one BEGIN and one COMMIT
 * for many, their writes coalesced; all or nothing, each work run again alone after a failure. One
 * batcher per database client.
 */
const phase2Batcher = perClient((sql: Sql) =>
  createTransactionBatcher(sql, { maxInFlight: phase2TransactionsInFlight, maxBatch: phase2BatchMax }),
);

/**
 * Runs a phase 2 in a transaction shared with other requests' under load. Only for work whose every
 * change of an existing row is guarded (status, version) and fails loudly when its guard misses: the
 * work of a batch shares one transaction, so a row lock does not hold a batch-mate back; a second
 * change of one payment misses its guard instead, and the batch runs one by one.
 */
export function inSharedTransaction<T>(
  dependencies: Pick<PaymentsDependencies, 'sql'>,
  work: (transaction: TransactionSql) => Promise<T>,
): Promise<T> {
  return phase2Batcher(dependencies.sql).run(work);
}

/**
 * Continues a key whose subject is already read: the settled answer, or send/inquire, park an
 * unknown outcome for the janitor, and phase 2 (capture, refund and void lock the payment, then
 * change it under guards that fail loudly: safe to share a transaction, see inSharedTransaction).
 */
export async function continueWithSubject<Subject>(
  dependencies: PaymentsDependencies,
  steps: AcquirerSteps<Subject>,
  key: KeyRef,
  mode: ContinuationMode,
  subject: Subject,
): Promise<ApiAnswer> {
  const settled = steps.settledAnswer(subject);
  if (settled !== undefined) {
    return dependencies.sql.begin((transaction) => finish(transaction, key, settled));
  }
  const outcome = await inquireThenSend(
    mode,
    () => steps.inquire(dependencies, subject),
    () => steps.send(dependencies, subject),
  );
  if (outcome.type === 'unknown' || outcome.type === 'pending') {
    await keepUnresolvedOperation(dependencies, key, mode, outcome, steps.pendingReason);
    return steps.unknownAnswer(subject);
  }
  crashIfFaultInjected(dependencies);
  return inSharedTransaction(dependencies, async (transaction) =>
    finish(transaction, key, await steps.apply(transaction, dependencies, key, subject, outcome)),
  );
}

/**
 * Phase 2 of an operation pending on the payment itself (capture, void), in the runner's transaction:
 * `apply` first on `payment` as phase 1 left it (or as loaded), its first write guarded by the
 * payment's version and so safe unlocked; when that guard missed (nothing written), on the payment
 * locked now — or `settled` when the operation is no longer pending on it (applied meanwhile).
 */
export async function applyToPendingPayment(
  transaction: TransactionSql,
  key: KeyRef,
  payment: Payment,
  operation: PendingOperation,
  settled: (current: Payment) => ApiAnswer,
  apply: (pending: Payment) => Promise<ApiAnswer | undefined>,
): Promise<ApiAnswer> {
  if (payment.pendingOperation === operation) {
    const answer = await apply(payment);
    if (answer) return answer;
  }
  const current = await lockPayment(transaction, key.merchantId, key.resourceId);
  if (!current) throw new Error(`payment ${key.resourceId} vanished`);
  if (current.pendingOperation !== operation) return settled(current);
  const answer = await apply(current);
  assert.ok(answer, 'the payment changed under its row lock');
  return answer;
}

/** The continuation of an operation sent to the acquirer: load its subject, then continue. */
export function acquirerContinuation<Subject>(steps: AcquirerSteps<Subject>): Continuation {
  return async (dependencies, key, mode) =>
    continueWithSubject(dependencies, steps, key, mode, await steps.load(dependencies, key));
}

/** A request's continuation of an operation sent to the acquirer: on what phase 1 wrote, else loaded. */
export function acquirerRequestContinuation<Input extends OperationRequest, Prepared, Subject>(
  steps: AcquirerSteps<Subject>,
): NonNullable<PaymentOperation<Input, Prepared, Subject>['continueRequest']> {
  const loading = acquirerContinuation(steps);
  return (dependencies, key, mode, request) =>
    request.subject === undefined
      ? loading(dependencies, key, mode)
      : continueWithSubject(dependencies, steps, key, mode, request.subject);
}

/**
 * Phase 1 of an operation on a payment read outside any transaction (capture, refund, void), in a
 * transaction shared with other requests' under load (ADR 18): the key claimed at its recovery point,
 * then the operation's change of the payment as it was read (`change`: guarded by its status and
 * version; undefined when the guard missed, having written nothing). Undefined when the key existed
 * (nothing written) or the payment changed since it was read (the key taken back): the runner then
 * claims step by step under the payment's row lock, which gives the exact answer (a replay, a
 * conflict, a refusal). No row lock is taken here, so the work is safe in a shared transaction.
 */
export function claimOnReadPayment<Subject>(
  dependencies: Pick<PaymentsDependencies, 'sql'>,
  input: OperationRequest,
  claim: {
    readonly operation: KeyOperation;
    readonly resourceId: string;
    readonly now: Date;
    readonly firstAttemptAt: Date | null;
  },
  change: (transaction: TransactionSql) => Promise<Subject | undefined>,
): Promise<PhaseOneResult<Subject> | undefined> {
  const key: ClaimedKey = {
    merchantId: input.merchantId,
    key: input.idempotencyKey,
    operation: claim.operation,
    fingerprint: input.fingerprint,
    resourceId: claim.resourceId,
    nextAttemptAt: claim.firstAttemptAt,
    now: claim.now,
  };
  return inSharedTransaction(dependencies, async (transaction) => {
    if (!(await insertClaimedKey(transaction, key))) return undefined;
    const subject = await change(transaction);
    if (subject === undefined) {
      await deleteClaimedKey(transaction, key);
      return undefined;
    }
    return { type: 'continue', resourceId: claim.resourceId, subject } as const;
  });
}

/** Keys resumed per janitor run. */
export const janitorBatchMax = 50;

export interface Pipeline {
  /** Runs an operation for a request (or a client retry of its key). */
  run<Input extends OperationRequest, Prepared, Subject>(
    dependencies: PaymentsDependencies,
    operation: PaymentOperation<Input, Prepared, Subject>,
    input: Input,
  ): Promise<RequestAnswer>;
  /** Continues an unfinished key from its recovery point. */
  resumeKey(
    dependencies: PaymentsDependencies,
    key: IdempotencyKey,
    mode: ContinuationMode,
  ): Promise<ApiAnswer>;
  /**
   * Resolves the unfinished operation on a payment or refund now (a capture of a PENDING payment):
   * `retry` from a client request (an unknown outcome leaves the janitor's schedule alone).
   */
  resolveResource(
    dependencies: PaymentsDependencies,
    resourceId: string,
    mode: ContinuationMode,
  ): Promise<void>;
  /** One janitor run: resumes every due or abandoned key (a few at a time). Returns how many. */
  runJanitor(dependencies: PaymentsDependencies, signal?: AbortSignal): Promise<number>;
}

function keyRefOf(key: IdempotencyKey): KeyRef {
  return { merchantId: key.merchantId, key: key.key, resourceId: key.resourceId!, attempts: key.attempts };
}

/** The runner over the registered operations (one per key operation). */
export function createPipeline(registered: readonly RegisteredOperation[]): Pipeline {
  const byKind = new Map(registered.map((operation) => [operation.kind, operation]));

  function resumeKey(
    dependencies: PaymentsDependencies,
    key: IdempotencyKey,
    mode: ContinuationMode,
  ): Promise<ApiAnswer> {
    const operation = byKind.get(key.operation);
    if (!operation) throw new Error(`no operation is registered for ${key.operation} keys`);
    return operation.continueKey(dependencies, keyRefOf(key), mode);
  }

  async function resumeSafely(
    dependencies: PaymentsDependencies,
    key: IdempotencyKey,
    mode: ContinuationMode,
  ): Promise<void> {
    try {
      await resumeKey(dependencies, key, mode);
    } catch (error) {
      // Unlock and back off on the schedule, so a key that keeps failing cannot spin every tick.
      dependencies.log.error({ err: error, resourceId: key.resourceId }, 'janitor could not resume a key');
      await keepForJanitor(dependencies, dependencies.sql, keyRefOf(key), mode, 'resuming failed');
    }
  }

  async function resolveResource(
    dependencies: PaymentsDependencies,
    resourceId: string,
    mode: ContinuationMode,
  ): Promise<void> {
    const now = dependencies.clock.now();
    const lockExpiredBefore = new Date(now.getTime() - dependencies.settings.keyLockTimeoutMs);
    const key = await claimKeyOfResource(dependencies.sql, resourceId, now, lockExpiredBefore);
    if (key) await resumeSafely(dependencies, key, mode);
  }

  async function runJanitor(dependencies: PaymentsDependencies, signal?: AbortSignal): Promise<number> {
    const now = dependencies.clock.now();
    const lockExpiredBefore = new Date(now.getTime() - dependencies.settings.keyLockTimeoutMs);
    const keys = await claimDueKeys(dependencies.sql, now, lockExpiredBefore, janitorBatchMax);
    for (const key of keys) {
      if (signal?.aborted) {
        await setKeyLock(dependencies.sql, key.merchantId, key.key, null);
        continue;
      }
      await resumeSafely(dependencies, key, 'janitor');
    }
    return keys.length;
  }

  async function run<Input extends OperationRequest, Prepared, Subject>(
    dependencies: PaymentsDependencies,
    operation: PaymentOperation<Input, Prepared, Subject>,
    input: Input,
  ): Promise<RequestAnswer> {
    const context: PipelineContext = {
      resolve: (resourceId) => resolveResource(dependencies, resourceId, 'retry'),
    };
    const prepared = (await operation.validate?.(dependencies, input, context)) as Prepared;
    const now = dependencies.clock.now();
    const owner = { merchantId: input.merchantId, key: input.idempotencyKey };
    const firstAttemptAt = nextAttemptAt(dependencies.settings.inquiryScheduleMs, 0, now);
    const phase1 = await withSpan(`payments.${operation.kind}.phase1`, {}, async () => {
      const inOne = await operation.claimNewKey?.(
        dependencies.sql,
        dependencies,
        input,
        prepared,
        now,
        firstAttemptAt,
      );
      if (inOne !== undefined) {
        if (inOne.type !== 'continue') throw new Error('phase 1 in one go can only continue');
        return { type: 'fresh', resourceId: inOne.resourceId, subject: inOne.subject } as const;
      }
      return dependencies.sql.begin(async (transaction) => {
        const claimed = await claimKey(transaction, {
          ...owner,
          operation: operation.kind,
          fingerprint: input.fingerprint,
          now,
          lockTimeoutMs: dependencies.settings.keyLockTimeoutMs,
        });
        if (claimed.type !== 'new') return claimed;
        const result = await operation.phase1(transaction, dependencies, input, now, prepared);
        await markPhase1Committed(
          transaction,
          input.merchantId,
          input.idempotencyKey,
          result.resourceId,
          firstAttemptAt,
        );
        if (result.type === 'continue')
          return { type: 'fresh', resourceId: result.resourceId, subject: result.subject } as const;
        const ref = { ...owner, resourceId: result.resourceId, attempts: 0 };
        return { ...result, answer: await finish(transaction, ref, result.answer) };
      });
    });
    switch (phase1.type) {
      case 'replay':
        return { answer: phase1.answer, replayed: true };
      case 'done':
        await phase1.afterCommit?.(dependencies);
        return { answer: phase1.answer, replayed: false };
      case 'fresh':
      case 'resume': {
        const key = {
          ...owner,
          resourceId: phase1.resourceId,
          attempts: phase1.type === 'resume' ? phase1.attempts : 0,
        };
        const mode = phase1.type === 'fresh' ? 'request' : 'retry';
        const subject = phase1.type === 'fresh' ? phase1.subject : undefined;
        const answer = operation.continueRequest
          ? await operation.continueRequest(dependencies, key, mode, { input, prepared, subject })
          : await operation.continueKey(dependencies, key, mode);
        return { answer, replayed: false };
      }
      default:
        return phase1 satisfies never;
    }
  }

  return { run, resumeKey, resolveResource, runJanitor };
}
